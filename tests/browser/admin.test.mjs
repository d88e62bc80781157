// Admin review: a session recorded from the presenter page shows up on the
// admin page (its stage-slot file and the session's composite, with status
// badges and kinds), which plays it beside its timeline, seeks in it (HTTP
// range requests through a signed URL), links to the replay page and
// deletes it; the admin token is in no URL the page requested.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Platform, goLive, sendsAudio, waitFor } from './harness.mjs';

const run = promisify(execFile);
const ROOM = 'admin-test';

describe('admin review of recordings', { timeout: 240000 }, () => {
    const platform = new Platform(ROOM, ['--record-by-default']);
    let failed = false;
    let admin;
    before(async () => {
        await platform.start();
        const { stdout } = await run(platform.bin, ['token', '--data', platform.dataDir, '--room', '*',
            '--role', 'admin']);
        admin = stdout.trim().split('\n').pop().trim();
    });
    after(async () => {
        const exit = await platform.stop();
        if (failed) console.log(`--- stagecast log (tail) ---\n${platform.log.slice(-15000)}`);
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
        assert.deepEqual(platform.pageErrors, []);
    });

    const list = async (query = '?kind=track') => {
        const res = await fetch(`${platform.base}/api/recordings${query}`, { headers: { Authorization: `Bearer ${admin}` } });
        assert.equal(res.status, 200);
        return (await res.json()).recordings;
    };

    test('a recorded session is listed, played, seeked and deleted', async () => {
        try {
            const presenter = await platform.open('presenter.html', 'presenter', 'presenter');
            await goLive(presenter);
            // Six seconds of media into the open file, however long this
            // machine takes to send them; the duration must show most of it.
            await waitFor('the recording started', async () => (await list())[0]?.status === 'recording', 30000);
            await sendsAudio(presenter, 6);
            await presenter.getByRole('button', { name: 'Stop', exact: true }).click();
            // The recorder closes a file after 5 s without packets.
            const recs = await waitFor('the recording in the catalog', async () => {
                const l = await list();
                return l.length && l[0].status === 'ready' ? l : null;
            }, 60000, 500);
            assert.equal(recs.length, 1);
            const rec = recs[0];
            assert.equal(rec.room, ROOM);
            assert.ok(rec.duration_s > 4, `duration ${rec.duration_s}`);
            const comp = await waitFor('the session composite', async () => {
                const l = await list('?kind=composite');
                return l.length && l[0].status !== 'processing' ? l[0] : null;
            }, 150000, 1000);
            assert.equal(comp.status, 'ready', JSON.stringify(comp));
            assert.equal(comp.session, rec.session);

            const context = await platform.browser.newContext();
            const page = await context.newPage();
            const requests = [];
            page.on('request', (req) => requests.push(req.url()));
            page.on('pageerror', (err) => platform.pageErrors.push(`admin: ${err.message}`));
            page.on('dialog', (d) => d.accept());
            await page.goto(`${platform.base}/admin.html#token=${admin}`);
            await waitFor('the admin page listing it', () => page.evaluate((id) =>
                document.body.dataset.state === 'ready'
                && !!document.querySelector(`#recording-rows tr[data-id="${id}"]`), rec.id));
            assert.equal(await page.locator('#recording-rows tr').count(), 2);
            const row = page.locator(`tr[data-id="${rec.id}"]`);
            assert.equal(await row.locator('.rec-status').getAttribute('data-status'), 'ready');
            assert.equal(await row.locator('td.kind').textContent(), 'stage slot');
            assert.equal(await page.locator(`tr[data-id="${comp.id}"] td.kind`).textContent(), 'composite');
            assert.equal(await row.getByRole('link', { name: 'Replay' }).getAttribute('href'),
                `replay.html#rec=${rec.id}`);
            // The kind filter.
            await page.selectOption('#filter-kind', 'composite');
            await page.getByRole('button', { name: 'Filter' }).click();
            await waitFor('only the composite listed', () => page.evaluate((id) =>
                document.querySelectorAll('#recording-rows tr').length === 1
                && !!document.querySelector(`#recording-rows tr[data-id="${id}"]`), comp.id));
            await page.selectOption('#filter-kind', '');
            await page.getByRole('button', { name: 'Filter' }).click();
            await waitFor('both listed again', () => page.evaluate(() =>
                document.querySelectorAll('#recording-rows tr').length === 2));

            // Play: the media time advances.
            await page.locator(`tr[data-id="${rec.id}"]`).getByRole('button', { name: 'Play' }).click();
            await page.evaluate(() => { const v = document.querySelector('#video'); v.muted = true; return v.play(); });
            await waitFor('playback', () => page.evaluate(() => document.querySelector('#video').currentTime > 0.5));
            // Nobody chatted: the selected recording's timeline says so.
            await waitFor('the empty timeline', () => page.locator('#player-timeline-empty').isVisible());
            const dur = await page.evaluate(() => document.querySelector('#video').duration);
            assert.ok(Math.abs(dur - rec.duration_s) < 0.5, `the player sees ${dur} s, the catalog ${rec.duration_s} s`);

            // Seek to 2 s; it plays on from there.
            await page.evaluate(() => new Promise((resolve) => {
                const v = document.querySelector('#video');
                v.pause();
                v.addEventListener('seeked', resolve, { once: true });
                v.currentTime = 2;
            }));
            const at = await page.evaluate(() => document.querySelector('#video').currentTime);
            assert.ok(at >= 1.9 && at < 2.5, `after seeking to 2 s the player is at ${at}`);
            await page.evaluate(() => document.querySelector('#video').play());
            await waitFor('playback after the seek', () => page.evaluate(() => {
                const v = document.querySelector('#video');
                return v.currentTime > 2.4 && !v.paused;
            }));

            // Delete (the confirm dialog is accepted): the list empties, the file is gone.
            const dir = join(platform.dataDir, 'recordings', ROOM);
            assert.equal(readdirSync(dir).filter((f) => f.endsWith('.webm')).length, 1);
            await page.locator(`tr[data-id="${rec.id}"]`).getByRole('button', { name: 'Delete' }).click();
            await waitFor('the row to go', () => page.evaluate(() =>
                document.querySelectorAll('#recording-rows tr').length === 1 && document.body.dataset.count === '1'));
            assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.webm')), []);
            assert.deepEqual(await list(), []);
            // The composite is deleted the same way; then the list is empty.
            await page.locator(`tr[data-id="${comp.id}"]`).getByRole('button', { name: 'Delete' }).click();
            await waitFor('the list to empty', () => page.evaluate(() =>
                document.querySelectorAll('#recording-rows tr').length === 0 && document.body.dataset.count === '0'));
            assert.equal(await page.locator('#empty').isVisible(), true);
            assert.deepEqual(await list(''), []);
            // The media went through signed URLs; the token never left the
            // Authorization header.
            assert.ok(requests.some((u) => u.includes(`/media/recordings/${rec.id}.webm?purpose=play&`)));
            assert.deepEqual(requests.filter((u) => u.includes(admin) || /[?&]token=/.test(u)), []);
        } catch (err) {
            failed = true;
            throw err;
        }
    });
});
