// ICE over TCP: a network that drops every UDP packet (an nftables rule in
// its own namespace, as a company firewall would) still publishes and
// watches, over the passive TCP candidate each answer carries below UDP.
//
//   runner namespace ("the server host")          office namespace (no UDP)
//     veth 10.95.0.1: HTTP, media UDP + TCP <----->  veth 10.95.0.2: Chromium
//     lo: a Chromium viewer on UDP                   (a WHIP publisher, a viewer)
//
// The office's Chromium publishes over WHIP (raw fetch from the page, as an
// encoder would) and watches the room in the viewer page; a viewer beside
// the server watches over UDP.  The selected candidate pairs say which
// transport carried the media, the rule's counter proves UDP was tried and
// dropped, and /api/stats counts the TCP connections.
//
// Needs root in the runner's namespace (tests/browser/run): it makes a veth
// pair and one more network namespace, both removed afterwards.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, PeerNamespace, failureTracking, findBinary, freePort, selectedPair,
    spawnWatched, stopAll, waitFor } from './harness.mjs';

const run = promisify(execFile);
const ROOM = 'icetcp-test';
const SERVER_IP = '10.95.0.1';
const OFFICE_IP = '10.95.0.2';

const decodedFrames = (page) => page.evaluate(async () =>
    (await window.stagecast.stats()).video.reduce((n, v) => n + (v.framesDecoded || 0), 0));

describe('ICE-TCP: a network that drops UDP publishes and watches over TCP', { timeout: 300000 }, () => {
    const bin = findBinary();
    const steps = failureTracking();
    const step = steps.step;
    const dir = mkdtempSync(join(tmpdir(), 'stagecast-icetcp-'));
    const dataDir = join(dir, 'data');
    const pageErrors = [];
    const procs = {};
    const office = new PeerNamespace('icetcp', SERVER_IP, OFFICE_IP);
    let log = '';
    let port;
    let officeBrowser;
    let localBrowser;
    let publisher;

    async function token(role, name) {
        const { stdout } = await run(bin, ['token', '--data', dataDir, '--room', ROOM, '--role', role,
            '--name', name]);
        return stdout.trim().split('\n').pop().trim();
    }
    const nft = async (...a) => (await run('ip', ['netns', 'exec', office.ns, 'nft', ...a])).stdout;
    const stats = async () => (await fetch(`http://127.0.0.1:${port}/api/stats`,
        { headers: { Authorization: `Bearer ${await adminToken()}` } })).json();
    async function adminToken() {
        const { stdout } = await run(bin, ['token', '--data', dataDir, '--room', '*', '--role', 'admin']);
        return stdout.trim().split('\n').pop().trim();
    }

    before(async () => {
        await office.create();
        // The office drops every UDP packet in and out: no host, srflx or
        // relay-over-UDP path can work, only TCP.
        await nft('add', 'table', 'inet', 'office');
        for (const hook of ['input', 'output']) {
            await nft('add', 'chain', 'inet', 'office', hook, `{ type filter hook ${hook} priority 0; }`);
            await nft('add', 'rule', 'inet', 'office', hook, 'meta', 'l4proto', 'udp', 'counter', 'drop');
        }
        port = await freePort('tcp');
        procs.stagecast = spawnWatched(bin, ['serve', '--data', dataDir, '--listen', `0.0.0.0:${port}`,
            '--media-ip', SERVER_IP, '--udp-port', '20300', '--drain-timeout', '0'], (c) => { log += c; });
        await waitFor('GET /api/health', async () => {
            assert.equal(procs.stagecast.exitInfo, null, `stagecast exited:\n${log}`);
            return (await fetch(`http://127.0.0.1:${port}/api/health`)).ok;
        }, 20000);
        officeBrowser = await office.launchChromium(dir);
        localBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    });

    after(async () => {
        await officeBrowser?.close().catch(() => {});
        await localBrowser?.close().catch(() => {});
        await stopAll(Object.values(procs));
        await office.remove();
        if (steps.failed || process.env.STAGECAST_LOG) console.log(`--- server log ---\n${log}`);
        rmSync(dir, { recursive: true, force: true });
        assert.deepEqual(pageErrors, []);
        assert.equal(procs.stagecast?.exitInfo?.code, 0, 'stagecast exits cleanly on SIGTERM');
    });

    step('the office really cannot send UDP to the server', async () => {
        // A UDP datagram from the office namespace is counted and dropped.
        const before = await nft('list', 'chain', 'inet', 'office', 'output');
        const count = (text) => Number(/counter packets (\d+)/.exec(text)[1]);
        await run('ip', ['netns', 'exec', office.ns, 'bash', '-c',
            `echo probe > /dev/udp/${SERVER_IP}/20300 || true`]).catch(() => {});
        const after = await nft('list', 'chain', 'inet', 'office', 'output');
        assert.ok(count(after) > count(before), `${before}\n${after}`);
    });

    step('a WHIP publisher in the office goes live over ICE-TCP', async () => {
        const context = await officeBrowser.newContext();
        publisher = await context.newPage();
        publisher.on('pageerror', (err) => pageErrors.push(`publisher: ${err.message}`));
        await publisher.goto(`http://${SERVER_IP}:${port}/index.html`);
        const res = await publisher.evaluate(async ({ room, tok }) => {
            // An encoder's picture and tone (the page is plain HTTP on a
            // non-local address: no camera there, as in the HTTPS test).
            const canvas = document.createElement('canvas');
            canvas.width = 640;
            canvas.height = 360;
            const g = canvas.getContext('2d');
            let frame = 0;
            setInterval(() => {
                g.fillStyle = `hsl(${(frame++ * 7) % 360} 80% 50%)`;
                g.fillRect(0, 0, 640, 360);
                g.fillStyle = '#fff';
                g.fillText(String(frame), 20 + (frame % 600), 180);
            }, 33);
            const audio = new AudioContext();
            const tone = audio.createOscillator();
            const sink = audio.createMediaStreamDestination();
            tone.connect(sink);
            tone.start();
            const stream = new MediaStream([...canvas.captureStream(30).getVideoTracks(), ...sink.stream.getAudioTracks()]);
            const pc = new RTCPeerConnection();
            stream.getTracks().forEach((t) => pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] }));
            await pc.setLocalDescription(await pc.createOffer());
            await new Promise((resolve) => {
                if (pc.iceGatheringState === 'complete') resolve();
                pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
                setTimeout(resolve, 3000);
            });
            const r = await fetch(`/whip/${room}`, { method: 'POST', body: pc.localDescription.sdp,
                headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${tok}` } });
            const answer = await r.text();
            if (r.status !== 201) return { status: r.status, answer };
            await pc.setRemoteDescription({ type: 'answer', sdp: answer });
            window.whipPc = pc;
            return { status: r.status, answer };
        }, { room: ROOM, tok: await token('presenter', 'Office encoder') });
        assert.equal(res.status, 201, res.answer);
        assert.match(res.answer, /a=candidate:\S+ 1 tcp \d+ 10\.95\.0\.1 \d+ typ host tcptype passive/);
        await waitFor('the WHIP connection', () => publisher.evaluate(() => window.whipPc.connectionState === 'connected'), 60000);
        const pair = await selectedPair(publisher, 'window.whipPc');
        assert.equal(pair.local?.protocol, 'tcp', JSON.stringify(pair));
        assert.equal(pair.remote?.protocol, 'tcp', JSON.stringify(pair));
        assert.equal(pair.remote?.address, SERVER_IP, JSON.stringify(pair));
        await waitFor('media sent over TCP', async () => (await selectedPair(publisher, 'window.whipPc')).bytesSent > 100000, 60000);
    });

    step('a viewer in the office plays it over ICE-TCP', async () => {
        const context = await officeBrowser.newContext();
        const viewer = await context.newPage();
        viewer.on('pageerror', (err) => pageErrors.push(`office viewer: ${err.message}`));
        await viewer.goto(`http://${SERVER_IP}:${port}/viewer.html#room=${ROOM}&token=${await token('viewer', 'Office viewer')}`);
        const first = await waitFor('the office viewer decoding frames', async () => (await decodedFrames(viewer)) > 0 && decodedFrames(viewer), 90000);
        await waitFor('more frames', async () => (await decodedFrames(viewer)) >= first + 30, 60000);
        const pair = await selectedPair(viewer, 'window.stagecast.pc');
        assert.equal(pair.local?.protocol, 'tcp', JSON.stringify(pair));
        assert.equal(pair.remote?.tcpType, 'passive', JSON.stringify(pair));
        assert.ok(pair.bytesReceived > 0, JSON.stringify(pair));
    });

    step('a viewer on an open network still uses UDP, and the server counts both', async () => {
        const context = await localBrowser.newContext();
        const viewer = await context.newPage();
        viewer.on('pageerror', (err) => pageErrors.push(`udp viewer: ${err.message}`));
        await viewer.goto(`http://${SERVER_IP}:${port}/viewer.html#room=${ROOM}&token=${await token('viewer', 'Open viewer')}`);
        const first = await waitFor('the UDP viewer decoding frames', async () => (await decodedFrames(viewer)) > 0 && decodedFrames(viewer), 90000);
        await waitFor('more frames', async () => (await decodedFrames(viewer)) >= first + 30, 60000);
        const pair = await selectedPair(viewer, 'window.stagecast.pc');
        assert.equal(pair.local?.protocol, 'udp', JSON.stringify(pair));
        assert.equal(pair.remote?.protocol, 'udp', JSON.stringify(pair));

        const s = await stats();
        assert.ok(s.tcp_connections >= 2, JSON.stringify(s));
        assert.ok(s.tcp_accepted >= 2, JSON.stringify(s));
        // /metrics tells the transports apart: the office's WHIP publisher
        // and viewer on tcp, the open viewer on udp.
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`,
            { headers: { Authorization: `Bearer ${await adminToken()}` } })).text();
        const open = (kind, transport) => Number(new RegExp(
            `^stagecast_sessions_open\\{kind="${kind}",transport="${transport}"\\} (\\d+)`, 'm').exec(metrics)?.[1]);
        assert.equal(open('publish', 'tcp'), 1, metrics);
        assert.ok(open('subscribe', 'tcp') >= 1, metrics);
        assert.ok(open('subscribe', 'udp') >= 1, metrics);
        // The office tried UDP (its checks were dropped at its own firewall).
        const out = await nft('list', 'chain', 'inet', 'office', 'output');
        assert.ok(Number(/counter packets (\d+)/.exec(out)[1]) > 2, out);
    });
});
