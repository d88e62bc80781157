// Simulcast: the presenter page sends three layers; viewers asking for Low,
// Medium and High decode the matching layer (pictures as wide as what the
// presenter sends on rid l, m and h, three different sizes), and a viewer
// switching layers while playing keeps decoding, each switch starting at a
// keyframe its decoder did not have to ask for.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { KEEP_SIZE, Platform, failureTracking, goLive, sentLayers, waitFor } from './harness.mjs';

// The main tile's inbound video (slot 0) as the page's getStats shows it.
const video = (page) => page.evaluate(async () => {
    const s = await window.stagecast.stats();
    return s.video.find((v) => v.framesDecoded > 0) || s.video[0] || null;
});

async function choose(page, layer) {
    await page.selectOption('#quality', layer);
}

// The viewer page's quality names and the presenter's rids.
const RID = { low: 'l', medium: 'm', high: 'h' };

// What the presenter's browser sends per layer, for failure messages.
const sent = (page) => page.evaluate(async () => {
    const pc = window.stagecast?.pc;
    if (!pc) return null;
    const out = [];
    (await pc.getStats()).forEach((r) => {
        if (r.type === 'outbound-rtp' && r.kind === 'video') {
            out.push({ rid: r.rid, active: r.active, width: r.frameWidth, fps: r.framesPerSecond,
                       limit: r.qualityLimitationReason, kbps: Math.round((r.targetBitrate ?? 0) / 1000) });
        }
    });
    return out.sort((a, b) => String(a.rid).localeCompare(String(b.rid)));
}).catch((err) => err.message);

let presenter;

// Waits until the viewer decodes layer `rid`: pictures as wide as the
// presenter sends on that rid now (the size Chrome encodes a layer at is
// its business; which layer reaches the viewer is the SFU's), and more than
// `after` frames decoded.
async function decodesLayer(page, label, rid, after = 0) {
    let seen = null;
    try {
        return await waitFor(`${label} decoding layer ${rid}`, async () => {
            const v = await video(page);
            const layer = (await sentLayers(presenter))[rid];
            seen = v;
            return v && layer && layer.width > 0 && v.frameWidth === layer.width && v.framesDecoded > after
                ? v : null;
        }, 60000, 500);
    } catch (err) {
        err.message += `\n${label} decodes ${JSON.stringify(seen)}` +
            `\nthe presenter sends ${JSON.stringify(await sent(presenter))}` +
            `\n${label}: ${await Platform.describe(page)}`;
        throw err;
    }
}

describe('simulcast layers per viewer', { timeout: 300000 }, () => {
    const platform = new Platform('simulcast-test');
    const steps = failureTracking();
    const step = steps.step;

    before(async () => { await platform.start(); });
    after(async () => {
        const exit = await platform.stop();
        if (steps.failed) console.log(`--- stagecast log (tail) ---\n${platform.log.slice(-15000)}`);
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
        assert.deepEqual(platform.pageErrors, []);
    });

    const viewers = {};

    step('the presenter publishes three layers', async () => {
        presenter = await platform.open('presenter.html', 'presenter', 'presenter', KEEP_SIZE);
        await goLive(presenter);
        // The browser really sends simulcast: three outbound video RTP streams.
        await waitFor('three outbound video layers', () => presenter.evaluate(async () => {
            const pc = window.stagecast?.pc;
            if (!pc) return false;
            const stats = await pc.getStats();
            let n = 0;
            stats.forEach((r) => { if (r.type === 'outbound-rtp' && r.kind === 'video' && r.rid) n++; });
            return n === 3;
        }), 30000);
    });

    step('Low, Medium and High decode the matching layers', async () => {
        const decoded = {};
        for (const layer of ['low', 'medium', 'high']) {
            const page = await platform.open('viewer.html', 'viewer', `viewer-${layer}`);
            await waitFor(`viewer-${layer} live`, async () => {
                const state = await page.evaluate(() => document.body.dataset.state);
                return state === 'live';
            }, 30000);
            await choose(page, layer);
            viewers[layer] = page;
            decoded[layer] = await decodesLayer(page, `viewer-${layer}`, RID[layer]);
        }
        // Three different layers: the sizes differ, in order.
        const w = Object.fromEntries(Object.entries(decoded).map(([k, v]) => [k, v.frameWidth]));
        assert.ok(w.low < w.medium && w.medium < w.high, `decoded widths ${JSON.stringify(w)}`);
        // The page tells the viewer what it is getting.
        await waitFor('the low layer\'s size on viewer-low\'s page', async () => {
            const v = await video(viewers.low);
            const info = await viewers.low.textContent('#layer-info');
            return v.frameWidth === w.low && info === `${v.frameWidth}×${v.frameHeight}`;
        }, 20000);
    });

    step('switching layers while playing keeps decoding', async () => {
        const page = viewers.low;
        const before = await video(page);
        await choose(page, 'high');
        const high = await decodesLayer(page, 'viewer-low switched to high', 'h', before.framesDecoded);
        await choose(page, 'medium');
        const medium = await decodesLayer(page, 'viewer-low switched to medium', 'm', high.framesDecoded);
        // Decoding goes on on the new layer (30 frames: past the switch).
        const end = await waitFor('viewer-low decoding on after the switches', async () => {
            const v = await video(page);
            return v.framesDecoded >= medium.framesDecoded + 30 ? v : null;
        }, 30000, 250);
        assert.ok(end.keyFramesDecoded >= before.keyFramesDecoded + 2, 'each switch started at a keyframe');
        // The decoder never saw a broken stream: a VP8 decoder missing a
        // reference asks for a keyframe (PLI), once per bad switch at
        // least.  One keyframe request is allowed for the busy machine
        // (a packet lost to a full socket buffer, say); two switches done
        // wrong ask for two.  Dropped frames and freezes depend on how
        // much CPU the decoder got, so they are only reported.
        const delta = (k) => (end[k] ?? 0) - (before[k] ?? 0);
        console.log(`while switching: ${delta('framesDecoded')} frames decoded, ${delta('keyFramesDecoded')} keyframes, ` +
            `${delta('pliCount')} PLIs, ${delta('framesDropped')} dropped, ${delta('freezeCount')} freezes`);
        assert.ok(delta('pliCount') <= 1,
            `the viewer asked for ${delta('pliCount')} keyframes while switching: its decoder saw a gap`);
    });
});
