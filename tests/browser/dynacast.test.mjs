// Dynacast: simulcast layers no viewer takes are paused at the presenter's
// encoder (its uplink carries only what someone watches) and resumed as soon
// as a viewer asks for them.  A viewer's layer is told by its size: as wide
// as what the presenter sends on that rid.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KEEP_SIZE, Platform, goLive, sendsFrames, sentLayers, sleep, waitFor } from './harness.mjs';

// The presenter's video encodings (active flags) and bytes sent per rid.
const encodings = (page) => page.evaluate(async () => {
    const pc = window.stagecast.pc;
    const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === 'video');
    if (!sender) return null;
    const active = sender.getParameters().encodings.map((e) => e.active !== false);
    const bytes = {};
    (await sender.getStats()).forEach((r) => {
        if (r.type === 'outbound-rtp' && r.rid) bytes[r.rid] = r.bytesSent;
    });
    return { active, bytes };
});

const viewerVideo = (page) => page.evaluate(async () => {
    const s = await window.stagecast.stats();
    return s.video.find((v) => v.framesDecoded > 0) || null;
});

describe('layers nobody watches are paused', { timeout: 240000 }, () => {
    const platform = new Platform('dynacast-test');
    let failed = false;
    before(async () => { await platform.start(); });
    after(async () => {
        const exit = await platform.stop();
        if (failed) console.log(`--- stagecast log (tail) ---\n${platform.log.slice(-15000)}`);
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
    });

    let presenter;

    // Until the viewer decodes layer `rid` (as wide as the presenter sends
    // it now) and more than `after` frames.
    const onLayer = (viewer, rid, after = 0) => waitFor(`the viewer decoding layer ${rid}`, async () => {
        const v = await viewerVideo(viewer);
        const layer = (await sentLayers(presenter))[rid];
        return v && layer && layer.width > 0 && v.frameWidth === layer.width && v.framesDecoded > after ? v : null;
    }, 60000, 500);

    test('a Low-only audience pauses m and h; Medium resumes m alone, High resumes h', async () => {
        try {
            presenter = await platform.open('presenter.html', 'presenter', 'presenter', KEEP_SIZE);
            await goLive(presenter);
            const viewer = await platform.open('viewer.html', 'viewer', 'viewer');
            await waitFor('the viewer decoding', () => viewerVideo(viewer), 60000, 500);
            await viewer.selectOption('#quality', 'low');
            await waitFor('m and h paused at the presenter', async () => {
                const e = await encodings(presenter);
                return e && e.active[0] && !e.active[1] && !e.active[2] ? e : null;
            }, 60000, 500);
            // Paused for real: once Chrome's pacer has sent what it had
            // queued (two readings half a second apart agree), the top
            // layer's byte count stands still while the low layer sends 60
            // frames more.
            const settled = await waitFor('the h layer\'s last bytes sent', async () => {
                const a = await encodings(presenter);
                await sleep(500);
                const b = await encodings(presenter);
                return b.bytes.h === a.bytes.h && !b.active[2] ? b : null;
            }, 30000, 0);
            await sendsFrames(presenter, 'l', 60);
            const later = await encodings(presenter);
            assert.equal(later.bytes.h, settled.bytes.h, 'no bytes on the paused h layer');
            assert.ok(later.bytes.l > settled.bytes.l, 'the low layer still flows');
            const low = await onLayer(viewer, 'l');

            // Medium names the m layer even while only l flows: asking for
            // it resumes m (h stays paused) and the viewer moves to m.  (A
            // rank among the flowing layers would have meant l for ever:
            // with l and m flowing, the middle of two is the lower.)
            await viewer.selectOption('#quality', 'medium');
            await waitFor('m active again, h still paused', async () => {
                const e = await encodings(presenter);
                return e && e.active[1] && !e.active[2] ? e : null;
            }, 30000, 250);
            const medium = await onLayer(viewer, 'm', low.framesDecoded);
            assert.ok(medium.frameWidth > low.frameWidth, `m is wider than l (${medium.frameWidth})`);
            // It stays there: 30 frames later, still m, and h still paused.
            const still = await waitFor('30 more frames on the Medium viewer', async () => {
                const v = await viewerVideo(viewer);
                return v.framesDecoded >= medium.framesDecoded + 30 ? v : null;
            }, 30000, 250);
            assert.equal(still.frameWidth, medium.frameWidth, 'the Medium viewer stays on m');
            assert.ok(!(await encodings(presenter)).active[2], 'h stays paused: nobody wants it');

            await viewer.selectOption('#quality', 'high');
            await waitFor('h active again', async () => {
                const e = await encodings(presenter);
                return e && e.active[2] ? e : null;
            }, 30000, 250);
            const high = await onLayer(viewer, 'h', medium.framesDecoded);
            assert.ok(high.frameWidth > medium.frameWidth, `h is wider than m (${high.frameWidth})`);
        } catch (err) {
            failed = true;
            throw err;
        }
    });

    test('a viewer showing the stage small gets the small layer on Auto', async () => {
        try {
            const viewer = await platform.open('viewer.html', 'viewer', 'viewer-small');
            await onLayer(viewer, 'h');
            const shrink = (px) => viewer.evaluate((w) => {
                for (const v of document.querySelectorAll('.tile video')) {
                    v.style.width = w;
                    v.style.maxWidth = w;
                }
            }, px);
            await shrink('160px');
            // The first layer at least 90 % as wide as the tile: l.
            const small = await onLayer(viewer, 'l');
            await shrink('');
            await onLayer(viewer, 'h', small.framesDecoded);
        } catch (err) {
            failed = true;
            throw err;
        }
    });
});
