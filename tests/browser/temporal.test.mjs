// VP8 temporal layers: the presenter sends each simulcast layer with three
// temporal layers (L1T3); a viewer limited to the base temporal layer gets
// about a quarter of the frames, still decoding without a new keyframe (the
// SFU closes the gaps in sequence numbers and picture ids), and gets every
// frame back when the limit is lifted.  Frames are counted against what the
// presenter sent on its top layer in the same stretch, so how many frames
// this machine manages per second does not enter.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KEEP_SIZE, Platform, goLive, sendsFrames, sentLayers, waitFor } from './harness.mjs';

const video = (page) => page.evaluate(async () => {
    const s = await window.stagecast.stats();
    return s.video.find((v) => v.framesDecoded > 0) || null;
});

const limit = (page, temporal) => page.evaluate((t) => {
    const sc = window.stagecast;
    return sc.signaling.request({ type: 'layer', session: sc.session, slot: 0, layer: 'high', temporal: t });
}, temporal);

describe('temporal layers', { timeout: 240000 }, () => {
    const platform = new Platform('temporal-test');
    let failed = false;
    before(async () => { await platform.start(); });
    after(async () => {
        const exit = await platform.stop();
        if (failed) console.log(`--- stagecast log (tail) ---\n${platform.log.slice(-15000)}`);
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
    });

    test('the base temporal layer only: fewer frames, still decoding, then all again', async () => {
        try {
            const presenter = await platform.open('presenter.html', 'presenter', 'presenter', KEEP_SIZE);
            await goLive(presenter);
            const viewer = await platform.open('viewer.html', 'viewer', 'viewer');
            await waitFor('the viewer on the top layer', async () => {
                const v = await video(viewer);
                const top = (await sentLayers(presenter)).h;
                return v && top && v.frameWidth === top.width ? v : null;
            }, 60000, 500);
            const dropped = async () => (await platform.stats()).temporal_dropped;

            // While the presenter sends `n` frames on its top layer: what the
            // viewer received and decoded, and what the SFU dropped for it.
            const stretch = async (n) => {
                const d0 = await dropped();
                const a = await video(viewer);
                const s0 = (await sentLayers(presenter)).h;
                const s1 = await sendsFrames(presenter, 'h', n);
                const b = await video(viewer);
                const sent = s1.framesSent - s0.framesSent;
                const received = b.framesReceived - a.framesReceived;
                return { a, b, sent, received, share: received / sent, width: s1.width,
                         decoded: b.framesDecoded - a.framesDecoded, dropped: (await dropped()) - d0,
                         keyframes: b.keyFramesDecoded - a.keyFramesDecoded, pli: b.pliCount - a.pliCount };
            };
            const show = (r) => `${r.received} of ${r.sent} frames received, ${r.decoded} decoded, ` +
                `${r.dropped} packets dropped by the SFU, ${r.keyframes} keyframes, ${r.pli} PLIs`;
            // A new limit applies from a point in the stream where the
            // decoder can follow; until then the SFU goes on as before.
            const noDrops = () => waitFor('the SFU forwarding every temporal layer',
                async () => (await stretch(15)).dropped === 0, 60000, 0);

            await limit(viewer, 3);
            await noDrops();
            const full = await stretch(120);
            console.log(`all temporal layers: ${show(full)}`);
            assert.ok(full.decoded > 0, 'decoding at the full frame rate');
            assert.ok(full.share >= 0.75, `every frame sent reaches the viewer: ${show(full)}`);

            await limit(viewer, 0);
            const d0 = await dropped();
            await waitFor('the SFU dropping the upper temporal layers', async () => (await dropped()) > d0, 30000);
            const base = await stretch(120);
            console.log(`the base temporal layer: ${show(base)}`);
            // The SFU drops the upper temporal layers' frames (the page
            // sends L1T3: three frames in four), at least a packet each,
            // and the picture goes on without a new keyframe (one is
            // allowed for the busy machine; a stream left with gaps asks
            // for one again and again).
            assert.ok(base.dropped >= base.sent / 2, `frames above the base layer dropped: ${show(base)}`);
            assert.ok(base.share <= 0.5, `about a quarter of the frames: ${show(base)}`);
            assert.ok(base.decoded >= base.sent / 10, `still decoding on the base layer: ${show(base)}`);
            assert.ok(base.share < full.share, `fewer frames than with all layers (${base.share} vs ${full.share})`);
            assert.ok(base.keyframes <= 1, `no keyframe was needed while shaving: ${show(base)}`);
            assert.equal(base.b.frameWidth, base.width, 'the same spatial layer');

            await limit(viewer, 3);
            await noDrops();
            const again = await stretch(120);
            console.log(`the limit lifted: ${show(again)}`);
            assert.equal(again.dropped, 0, 'nothing dropped once the limit is lifted');
            assert.ok(again.share >= 0.75 && again.share > base.share, `every frame is back: ${show(again)}`);
        } catch (err) {
            failed = true;
            throw err;
        }
    });
});
