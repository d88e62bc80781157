// Signed media URLs in the recordings console: the console plays a
// recording and downloads it, and when the signed URL expires during
// playback (--media-url-ttl 3) a seek the element has to fetch is refused,
// the page asks for a fresh URL and plays on from where it was.  The replay
// link opens the replay page, which borrows the console's token and plays.
// No request any of these pages made carries the admin token in its URL.
//
// The recording is a WebM file ffmpeg makes, found by the server's start-up
// scan: 30 s of noise (incompressible, so the 3 Mbit/s hold), long enough
// that Chromium, which reads about 10 s ahead, must fetch a later part.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Platform, waitFor } from './harness.mjs';

const run = promisify(execFile);
const ROOM = 'signed-urls';
const TTL = 3;
const SEEK_TO = 25;

// The exp (Unix seconds) of a signed URL.
const expOf = (url) => Number(new URL(url, 'http://x').searchParams.get('exp'));

describe('signed media URLs in the recordings console', { timeout: 180000 }, () => {
    const platform = new Platform(ROOM, ['--media-url-ttl', String(TTL)]);
    let failed = false;
    let admin;
    let file;
    before(async () => {
        await platform.start();
        // The catalog scans the recordings directory at start: stop, add
        // the file, start again on the same data.
        await platform.kill('SIGTERM');
        const dir = join(platform.dataDir, 'recordings', ROOM);
        mkdirSync(dir, { recursive: true });
        file = join(dir, '20240101T100000Z-slot0.webm');
        await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i',
            'nullsrc=s=320x180:r=15,geq=random(1)*255:128:128', '-f', 'lavfi', '-i', 'sine=duration=30',
            '-t', '30', '-c:v', 'libvpx', '-b:v', '3M', '-minrate', '3M', '-maxrate', '3M',
            '-deadline', 'realtime', '-cpu-used', '8', '-c:a', 'libopus', '-shortest', file]);
        await platform.restart();
        admin = await platform.adminToken();
    });
    after(async () => {
        const exit = await platform.stop();
        if (failed) console.log(`--- stagecast log (tail) ---\n${platform.log.slice(-15000)}`);
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
        assert.deepEqual(platform.pageErrors, []);
    });

    test('the console plays, survives an expired URL, downloads; no URL carries the token', async () => {
        const context = await platform.browser.newContext({ acceptDownloads: true });
        // Every request of every page of this context (the replay page too).
        const requests = [];
        const mediaRefusals = [];
        context.on('request', (req) => requests.push(req.url()));
        context.on('response', async (res) => {
            // The URL only: Chromium's media pipeline may drop a refused
            // response's body before the test can read it; the code is
            // read again from the same (expired) URL below.
            if (res.url().includes('/media/recordings/') && res.status() === 401) mediaRefusals.push(res.url());
        });
        try {
            const page = await context.newPage();
            platform.watch(page, 'admin');
            await page.goto(`${platform.base}/admin.html#token=${admin}`);
            const rec = await waitFor('the recording listed', () => page.evaluate(() => {
                const tr = document.querySelector('#recording-rows tr');
                return document.body.dataset.state === 'ready' && tr ? tr.dataset.id : null;
            }));
            const row = page.locator(`tr[data-id="${rec}"]`);

            // Play: a signed URL of this recording, no token.
            await row.getByRole('button', { name: 'Play' }).click();
            await page.evaluate(() => { document.querySelector('#video').muted = true; });
            await waitFor('a source', () => page.evaluate(() => document.querySelector('#video').getAttribute('src')));
            await page.evaluate(() => document.querySelector('#video').play());
            await waitFor('playback', () => page.evaluate(() => document.querySelector('#video').currentTime > 0.5));
            const src = await page.evaluate(() => document.querySelector('#video').src);
            assert.match(src, new RegExp(`/media/recordings/${rec}\\.webm\\?purpose=play&scope=any&exp=\\d+&sig=`));

            // Let the URL expire while paused; the seek target is not loaded
            // yet, so the element must ask the server for it.
            await page.evaluate(() => document.querySelector('#video').pause());
            await waitFor('the URL to expire', () => Date.now() / 1000 >= expOf(src), (TTL + 5) * 1000);
            const buffered = await page.evaluate((t) => {
                const b = document.querySelector('#video').buffered;
                for (let i = 0; i < b.length; i++) if (b.start(i) <= t && t <= b.end(i)) return true;
                return false;
            }, SEEK_TO);
            assert.equal(buffered, false, `Chromium loaded ${SEEK_TO} s ahead of time: nothing to refuse`);
            const posts = requests.filter((u) => u.includes('/media-url')).length;
            await page.evaluate((t) => {
                const v = document.querySelector('#video');
                v.currentTime = t;
                v.play().catch(() => { /* the player resumes it */ });
            }, SEEK_TO);
            await waitFor('playback on from the seek with a fresh URL', () => page.evaluate((t) => {
                const v = document.querySelector('#video');
                return v.currentTime > t + 0.5 && !v.paused;
            }, SEEK_TO), 30000);
            const codes = await Promise.all(mediaRefusals.map(async (u) =>
                (await (await fetch(u)).json())?.error?.code));
            assert.deepEqual(codes, ['url-expired']);
            assert.equal(requests.filter((u) => u.includes('/media-url')).length, posts + 1);
            const fresh = await page.evaluate(() => document.querySelector('#video').src);
            assert.ok(expOf(fresh) > expOf(src), `${fresh} after ${src}`);
            assert.equal(await page.locator('#error').isVisible(), false);

            // Download: a URL made at the click, the file named by the server.
            const [download] = await Promise.all([
                page.waitForEvent('download'),
                row.getByRole('button', { name: 'Download' }).click(),
            ]);
            assert.equal(download.suggestedFilename(), `${ROOM}-${rec}.webm`);
            assert.match(download.url(), new RegExp(`/media/recordings/${rec}\\.webm\\?purpose=download&`));
            const saved = join(platform.dataDir, 'downloaded.webm');
            await download.saveAs(saved);
            assert.ok(readFileSync(saved).equals(readFileSync(file)), 'the download is the recording');

            // The replay link carries no token; the page borrows it and plays.
            const link = row.getByRole('link', { name: 'Replay' });
            assert.equal(await link.getAttribute('href'), `replay.html#rec=${rec}`);
            const [replay] = await Promise.all([context.waitForEvent('page'), link.click()]);
            platform.watch(replay, 'replay');
            await waitFor('the replay page', () => replay.evaluate(() => document.body.dataset.state === 'ready'));
            await replay.evaluate(() => { const v = document.querySelector('#video'); v.muted = true; return v.play(); });
            await waitFor('replay playback', () => replay.evaluate(() => document.querySelector('#video').currentTime > 0.5));
            assert.doesNotMatch(replay.url(), /token/);

            // What went over the wire: signed URLs, never the token.
            assert.ok(requests.some((u) => u.includes('/media/recordings/')), 'no media request seen');
            const leaks = requests.filter((u) => u.includes(admin) || /[?&#]token=/.test(u));
            assert.deepEqual(leaks, []);
        } catch (err) {
            failed = true;
            throw err;
        } finally {
            await context.close();
        }
    });
});
