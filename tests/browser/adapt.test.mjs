// Adaptation: a viewer on Auto whose downlink starts losing packets is moved
// to a lower simulcast layer, and back up once the loss stops.  The loss is
// real: an nftables rule in the test's own network namespace drops 30 % of
// the datagrams going to that one viewer's port.  A second viewer's downlink
// is narrowed instead (a token bucket that queues before it drops, as a
// congested link does): the transport-cc estimate moves it down, and once
// the limit is lifted it climbs back to the top layer.  How it climbs
// depends on the encoder: when the next step needs more than half again
// what gets through, padding probes find the room; when Chrome (short of
// CPU) encodes the top layer small, the temporal steps form a ladder the
// estimate climbs on media alone.  So this test reports the probes it saw,
// and tests/unit/sfu/engine/test-bwe.c asserts the probing itself (a probe that
// fits raises the estimate; one that does not backs off).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KEEP_SIZE, Platform, goLive, sendsFrames, sentLayers, waitFor } from './harness.mjs';

const run = promisify(execFile);

let presenter; // the page publishing, shared by both tests

// The viewer on the top layer: as wide as the presenter sends rid h now.
const onTop = async (viewer, after = 0) => {
    const v = await mainVideo(viewer);
    const h = (await sentLayers(presenter)).h;
    return v && h && h.width > 0 && v.frameWidth === h.width && v.framesDecoded > after ? v : null;
};

// The viewer on a lower layer: as wide as what the presenter sends on l or
// m now, narrower than the top layer it had (`top`).
const steppedDown = async (viewer, top) => {
    const v = await mainVideo(viewer);
    const s = await sentLayers(presenter);
    return v && v.frameWidth > 0 && v.frameWidth < top.frameWidth
        && [s.l, s.m].some((x) => x && x.active && x.width === v.frameWidth) ? v : null;
};

const mainVideo = (page) => page.evaluate(async () => {
    const s = await window.stagecast.stats();
    return s.video.find((v) => v.framesDecoded > 0) || null;
});

// The viewer's own UDP port, from its selected ICE candidate pair.
const localPort = (page) => page.evaluate(async () => {
    const stats = await window.stagecast.pc.getStats();
    let port = null;
    stats.forEach((r) => {
        if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded')
            port = stats.get(r.localCandidateId)?.port ?? port;
    });
    return port;
});

async function dropTo(port, percent) {
    await run('nft', ['add', 'table', 'inet', 'stagecast_test']);
    await run('nft', ['add', 'chain', 'inet', 'stagecast_test', 'out',
        '{ type filter hook output priority 0; }']);
    await run('nft', ['add', 'rule', 'inet', 'stagecast_test', 'out', 'udp', 'dport', String(port),
        'numgen', 'random', 'mod', '100', '<', String(percent), 'drop']);
}

const stopDropping = () => run('nft', ['delete', 'table', 'inet', 'stagecast_test']).catch(() => {});

// Everything to `port` on loopback through an HTB class of `kbit` with a
// 400 ms byte queue (what a congested access link does: queue, then drop);
// all other traffic through an unlimited class.  (This kernel has HTB and
// the FIFOs but neither prio nor netem.)
async function limitTo(port, kbit) {
    const tc = (...args) => run('tc', args);
    await tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '10');
    await tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '10gbit');
    await tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:20', 'htb',
        'rate', `${kbit}kbit`, 'ceil', `${kbit}kbit`);
    await tc('qdisc', 'add', 'dev', 'lo', 'parent', '1:20', 'handle', '20:', 'bfifo',
        'limit', String(Math.round(kbit * 1000 / 8 * 0.4)));
    await tc('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1',
        'u32', 'match', 'ip', 'dport', String(port), '0xffff', 'flowid', '1:20');
}

const stopLimiting = () => run('tc', ['qdisc', 'del', 'dev', 'lo', 'root']).catch(() => {});

describe('a lossy viewer steps down and back up', { timeout: 300000 }, () => {
    const platform = new Platform('adapt-test');
    let failed = false;
    before(async () => { await platform.start(); });
    after(async () => {
        await stopDropping();
        await stopLimiting();
        const exit = await platform.stop();
        if (failed) console.log(`--- stagecast log (tail) ---\n${platform.log.slice(-15000)}`);
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
    });

    test('loss moves the viewer down a layer, calm moves it back', async () => {
        try {
            presenter = await platform.open('presenter.html', 'presenter', 'presenter', KEEP_SIZE);
            await goLive(presenter);
            const viewer = await platform.open('viewer.html', 'viewer', 'viewer');
            const full = await waitFor('the viewer on the top layer', () => onTop(viewer), 60000, 500);
            const port = await localPort(viewer);
            assert.ok(port, 'no selected candidate pair on the viewer');
            await dropTo(port, 30);
            const down = await waitFor('a lower layer under loss', () => steppedDown(viewer, full), 60000, 500);
            assert.ok(down.framesDecoded > full.framesDecoded);
            await stopDropping();
            const up = await waitFor('the top layer again once calm', () => onTop(viewer, down.framesDecoded),
                90000, 500);
            assert.ok(up.framesDecoded > down.framesDecoded, 'kept decoding');
        } catch (err) {
            failed = true;
            throw err;
        }
    });

    test('a narrow downlink moves the viewer down; once it widens, the top layer comes back', async () => {
        try {
            const viewer = await platform.open('viewer.html', 'viewer', 'viewer-narrow');
            const full = await waitFor('the viewer on the top layer', () => onTop(viewer), 60000, 500);
            const port = await localPort(viewer);
            assert.ok(port, 'no selected candidate pair on the viewer');
            const probes = async () => (await platform.stats()).probe_packets;
            const probes0 = await probes();
            // Below what the top layer needs even at its base frame rate,
            // so the allocator must give up picture size, not only frame
            // rate (at 600 kbit/s it rightly kept 1280 and shaved the frame
            // rate).  What the top layer needs depends on what this
            // machine's encoder makes of it, so the limit follows the rate
            // the presenter sends h at now: its base temporal layer carries
            // about 40 % of that and keeps its step down to 3/4 of it, so a
            // fifth leaves the top layer no room.  At most 300 kbit/s, and
            // never below 150, which carries the low layer and the audio.
            const h0 = (await sentLayers(presenter)).h;
            const h1 = await sendsFrames(presenter, 'h', 60);
            const topKbps = (h1.bytesSent - h0.bytesSent) * 8 / (h1.timestamp - h0.timestamp);
            const kbit = Math.max(150, Math.min(300, Math.round(topKbps / 5)));
            console.log(`the top layer sends ${Math.round(topKbps)} kbit/s; the link is narrowed to ${kbit} kbit/s`);
            await limitTo(port, kbit);
            const down = await waitFor(`a lower layer on a ${kbit} kbit/s link`, () => steppedDown(viewer, full),
                60000, 500);
            await stopLimiting();
            const up = await waitFor('the top layer again once the link is wide',
                () => onTop(viewer, down.framesDecoded), 90000, 500);
            assert.ok(up.framesDecoded > full.framesDecoded, 'kept decoding');
            // Probes are not asserted here (see the top of the file): a CI
            // run came back up on media alone, 40 -> 40 probe packets.
            console.log(`padding probe packets during the narrow-link test: ${await probes() - probes0}`);
        } catch (err) {
            failed = true;
            throw err;
        }
    });
});
