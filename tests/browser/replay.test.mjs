// The replay page: a session recorded from the presenter page, with a chat
// message and a chapter sent meanwhile, plays on replay.html (the session's
// composite for an admin), the timeline reveals the chat message once the
// media time passes it, and choosing the chapter seeks the video there.  A
// viewer's token opens it only once the recording is published.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Platform, goLive, sendsAudio, waitFor } from './harness.mjs';

const run = promisify(execFile);
const ROOM = 'replay-test';

// Join the room's WebSocket from a page and send `msgs` one by one, each
// answered (by "re") before the next; returns the replies.
function wsSend(page, token, msgs) {
    return page.evaluate(({ token, msgs }) => new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://${location.host}/ws`);
        const out = [];
        let i = 0;
        const next = () => {
            if (i === msgs.length) {
                ws.close();
                resolve(out);
                return;
            }
            ws.send(JSON.stringify({ ...msgs[i], id: 100 + i }));
        };
        ws.onopen = () => ws.send(JSON.stringify({ type: 'join', id: 1, token }));
        ws.onerror = () => reject(new Error('websocket error'));
        ws.onmessage = (ev) => {
            const m = JSON.parse(ev.data);
            if (m.re === 1) {
                if (m.type !== 'joined') reject(new Error(`join: ${ev.data}`));
                else next();
            } else if (m.re === 100 + i) {
                out.push(m);
                i++;
                next();
            }
        };
    }), { token, msgs });
}

describe('replay page', { timeout: 300000 }, () => {
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

    const api = async (method, path) => {
        const res = await fetch(`${platform.base}${path}`, { method, headers: { Authorization: `Bearer ${admin}` } });
        assert.equal(res.status, 200, `${method} ${path}`);
        return res.json();
    };

    test('plays, shows the timeline in step with the media, seeks to a chapter', async () => {
        try {
            const presenter = await platform.open('presenter.html', 'presenter', 'presenter');
            await goLive(presenter);
            const side = await (await platform.browser.newContext()).newPage();
            side.on('pageerror', (err) => platform.pageErrors.push(`side: ${err.message}`));
            await side.goto(`${platform.base}/api/health`);
            const viewerTok = await platform.token('viewer', 'Vic');
            const hostTok = await platform.token('presenter', 'Host');

            // Each step a stretch of media into the open file (audio sent,
            // however long this machine takes for it): the chat, then the
            // chapter, then the end, in that order in the file.
            await waitFor('the recording started', async () =>
                (await api('GET', '/api/recordings?kind=track')).recordings[0]?.status === 'recording', 30000);
            await sendsAudio(presenter, 2.5);
            const [sent] = await wsSend(side, viewerTok, [{ type: 'chat', text: 'a question from the floor' }]);
            assert.equal(sent.type, 'sent', JSON.stringify(sent));
            await sendsAudio(presenter, 2.5);
            const chapterSent = Date.now();
            const [ok] = await wsSend(side, hostTok, [{ type: 'chapter', title: 'Part two' }]);
            const chapterAcked = Date.now();
            assert.equal(ok.type, 'ok', JSON.stringify(ok));
            await sendsAudio(presenter, 3);
            await presenter.getByRole('button', { name: 'Stop', exact: true }).click();

            const track = await waitFor('the track row to finish', async () => {
                const l = (await api('GET', '/api/recordings?kind=track')).recordings;
                return l.length === 1 && l[0].status === 'ready' ? l[0] : null;
            }, 60000, 500);
            const comp = await waitFor('the composite to finish', async () => {
                const l = (await api('GET', '/api/recordings?kind=composite')).recordings;
                return l.length === 1 && l[0].status !== 'processing' ? l[0] : null;
            }, 150000, 1000);
            assert.equal(comp.status, 'ready', JSON.stringify(comp));

            // An admin: the session's composite plays.
            const page = await (await platform.browser.newContext()).newPage();
            page.on('pageerror', (err) => platform.pageErrors.push(`replay: ${err.message}`));
            await page.goto(`${platform.base}/replay.html#rec=${track.id}&token=${admin}`);
            await waitFor('the replay page', () => page.evaluate(() => document.body.dataset.state === 'ready'));
            assert.equal(await page.evaluate(() => document.body.dataset.playing), comp.id);
            assert.equal(await page.locator('#chapter-list button').count(), 1);
            const chapterT = Number(await page.locator('#chapter-list button').getAttribute('data-t'));
            // Placed where it was sent, in the played file's time (the
            // composite starts with the slot file).
            assert.ok(chapterT >= chapterSent - comp.started_at - 1000
                && chapterT <= chapterAcked - comp.started_at + 1000,
            `chapter at ${chapterT} ms, sent ${chapterSent - comp.started_at}..${chapterAcked - comp.started_at} ms in`);
            assert.ok(chapterT < track.duration_s * 1000, `chapter at ${chapterT} ms, file ${track.duration_s} s`);

            // Before playing, nothing is revealed; the chat appears as the
            // media time passes it.
            assert.equal(await page.locator('#timeline li[data-kind="chat"]').isVisible(), false);
            await page.evaluate(() => { const v = document.querySelector('#video'); v.muted = true; return v.play(); });
            await waitFor('the chat message in the timeline', async () => {
                const li = page.locator('#timeline li[data-kind="chat"]');
                return (await li.isVisible()) && (await li.textContent()).includes('a question from the floor');
            }, 30000);
            const chatT = Number(await page.locator('#timeline li[data-kind="chat"]').getAttribute('data-t'));
            const at = await page.evaluate(() => document.querySelector('#video').currentTime);
            assert.ok(at * 1000 + 300 >= chatT, `the chat (at ${chatT} ms) shown at ${at} s`);
            assert.ok(chatT < chapterT);

            // The chapter menu seeks there; the chapter becomes the current item.
            await page.evaluate(() => document.querySelector('#video').pause());
            const seekedAt = page.evaluate(() => new Promise((resolve) => {
                const v = document.querySelector('#video');
                v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
            }));
            await page.locator('#chapter-list button').click();
            const t = await seekedAt;
            assert.ok(Math.abs(t * 1000 - chapterT) < 700, `seeked to ${t} s, the chapter is at ${chapterT} ms`);
            await waitFor('the chapter highlighted', () => page.evaluate(() =>
                document.querySelector('#timeline li[aria-current="true"]')?.dataset.kind === 'chapter'));

            // Clicking an earlier item (the chat) seeks back to it.
            const back = page.evaluate(() => new Promise((resolve) => {
                const v = document.querySelector('#video');
                v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
            }));
            await page.locator('#timeline li[data-kind="chat"] button').click();
            const t2 = await back;
            assert.ok(Math.abs(t2 * 1000 - chatT) < 700, `seeked to ${t2} s, the chat is at ${chatT} ms`);

            // A viewer: refused until published, then the same timeline.
            const vpage = await (await platform.browser.newContext()).newPage();
            vpage.on('pageerror', (err) => platform.pageErrors.push(`viewer replay: ${err.message}`));
            await vpage.goto(`${platform.base}/replay.html#rec=${track.id}&token=${viewerTok}`);
            await waitFor('the refusal', () => vpage.evaluate(() => document.body.dataset.state === 'error'));
            assert.match(await vpage.textContent('#error'), /not published/);
            await api('POST', `/api/recordings/${track.id}/publish`);
            await vpage.reload();
            await waitFor('the viewer replay', () => vpage.evaluate(() => document.body.dataset.state === 'ready'));
            // The composite is not published: the viewer gets the slot file,
            // through a signed URL valid while it stays published.
            assert.equal(await vpage.evaluate(() => document.body.dataset.playing), track.id);
            assert.match(await vpage.evaluate(() => document.querySelector('#video').getAttribute('src')),
                new RegExp(`^/media/recordings/${track.id}\\.webm\\?purpose=play&scope=published&exp=\\d+&sig=`));
            await vpage.evaluate(() => { const v = document.querySelector('#video'); v.muted = true; return v.play(); });
            await waitFor('the viewer replay playing', () => vpage.evaluate(() => document.querySelector('#video').currentTime > 0.5));
            assert.equal(await vpage.locator('#chapter-list button').count(), 1);
        } catch (err) {
            failed = true;
            throw err;
        }
    });
});
