// Dynacast: simulcast layers no viewer takes are paused at the presenter's
// encoder (its uplink carries only what someone watches) and resumed as soon
// as a viewer asks for them.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform, goLive, sleep, waitFor } from './harness.mjs';

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

    test('a Low-only audience pauses m and h; Medium resumes m alone, High resumes h', async () => {
        try {
            const presenter = await platform.open('presenter.html', 'presenter', 'presenter');
            await goLive(presenter);
            const viewer = await platform.open('viewer.html', 'viewer', 'viewer');
            await waitFor('the viewer decoding', () => viewerVideo(viewer), 60000, 500);
            await viewer.selectOption('#quality', 'low');
            const paused = await waitFor('m and h paused at the presenter', async () => {
                const e = await encodings(presenter);
                return e && e.active[0] && !e.active[1] && !e.active[2] ? e : null;
            }, 60000, 500);
            // Paused for real: the top layer's byte count stands still while
            // the low layer's keeps growing.
            await sleep(3000);
            const later = await encodings(presenter);
            assert.equal(later.bytes.h, paused.bytes.h, 'no bytes on the paused h layer');
            assert.ok(later.bytes.l > paused.bytes.l, 'the low layer still flows');
            const low = await viewerVideo(viewer);
            assert.ok(low.frameWidth <= 320, `the viewer gets the low layer (${low.frameWidth})`);

            // Medium names the m layer even while only l flows: asking for
            // it resumes m (h stays paused) and the viewer moves to m.  (A
            // rank among the flowing layers would have meant l for ever:
            // with l and m flowing, the middle of two is the lower.)
            await viewer.selectOption('#quality', 'medium');
            await waitFor('m active again, h still paused', async () => {
                const e = await encodings(presenter);
                return e && e.active[1] && !e.active[2] ? e : null;
            }, 30000, 250);
            const medium = await waitFor('the viewer decoding 640 px wide', async () => {
                const v = await viewerVideo(viewer);
                return v && v.frameWidth === 640 && v.framesDecoded > low.framesDecoded ? v : null;
            }, 60000, 500);
            await sleep(2000);
            const still = await viewerVideo(viewer);
            assert.equal(still.frameWidth, 640, 'the Medium viewer stays on m');
            assert.ok(!(await encodings(presenter)).active[2], 'h stays paused: nobody wants it');

            await viewer.selectOption('#quality', 'high');
            await waitFor('h active again', async () => {
                const e = await encodings(presenter);
                return e && e.active[2] ? e : null;
            }, 30000, 250);
            await waitFor('the viewer decoding 1280 px wide', async () => {
                const v = await viewerVideo(viewer);
                return v && v.frameWidth === 1280 && v.framesDecoded > medium.framesDecoded ? v : null;
            }, 60000, 500);
        } catch (err) {
            failed = true;
            throw err;
        }
    });

    test('a viewer showing the stage small gets the small layer on Auto', async () => {
        try {
            const viewer = await platform.open('viewer.html', 'viewer', 'viewer-small');
            await waitFor('the Auto viewer on the top layer', async () => {
                const v = await viewerVideo(viewer);
                return v && v.frameWidth === 1280 ? v : null;
            }, 60000, 500);
            const shrink = (px) => viewer.evaluate((w) => {
                for (const v of document.querySelectorAll('.tile video')) {
                    v.style.width = w;
                    v.style.maxWidth = w;
                }
            }, px);
            await shrink('160px');
            const small = await waitFor('a small layer for a 160 px tile', async () => {
                const v = await viewerVideo(viewer);
                return v && v.frameWidth > 0 && v.frameWidth <= 320 ? v : null;
            }, 60000, 500);
            await shrink('');
            await waitFor('the top layer again at full size', async () => {
                const v = await viewerVideo(viewer);
                return v && v.frameWidth === 1280 && v.framesDecoded > small.framesDecoded ? v : null;
            }, 60000, 500);
        } catch (err) {
            failed = true;
            throw err;
        }
    });
});
