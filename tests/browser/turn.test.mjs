// TURN through Debian's coturn: a viewer whose network cannot reach the
// SFU's media address watches through the relay, over UDP and over TLS.
//
//   runner namespace ("the server host")          viewer namespace
//     lo: 127.0.0.1, 10.94.1.1 (media address)
//     veth 10.94.0.1: HTTP, coturn  <----------->  veth 10.94.0.2: Chromium
//
// The viewer's namespace has a route to 10.94.0.0/24 only: it reaches the
// pages and coturn, never the media address.  coturn (configured by
// scripts/turn/configure, as an operator would) relays from the media
// address to the media address only, and takes turns: on 5349 with a
// certificate made here (self-signed, for 10.94.0.1; the viewer's Chromium
// is told to accept it, as it would trust a real one).  The presenter's
// Chromium runs beside the server and sends directly.  Also: coturn hands
// out a relay for a credential Stagecast minted, and none for a forged or
// an expired one; with the viewer's UDP and TCP 3478 dropped (nftables),
// the viewer plays through turns: alone.
//
// Needs root in the runner's namespace (tests/browser/run): it makes a veth
// pair and one more network namespace, both removed afterwards.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, PeerNamespace, REPO, failureTracking, findBinary, freePort, goLive,
    selectedPair, spawnWatched, stopAll, waitFor } from './harness.mjs';

const run = promisify(execFile);
const ROOM = 'turn-test';
const SERVER_IP = '10.94.0.1';
const VIEWER_IP = '10.94.0.2';
const MEDIA_IP = '10.94.1.1';
const TURN_PORT = 3478;
const TURN_URL = `turn:${SERVER_IP}:${TURN_PORT}?transport=udp`;
const TURNS_PORT = 5349;
const TURNS_URL = `turns:${SERVER_IP}:${TURNS_PORT}?transport=tcp`;
const SECRET = 'e2c4a1f09b7d33c5a8e6f1d2b4c6a8e0f1d3b5c7';

// base64(HMAC-SHA1(secret, username)): what coturn recomputes.
const credentialFor = (username, secret = SECRET) =>
    createHmac('sha1', secret).update(username).digest('base64');

// In a page: gather with only a TURN server and say which candidate types
// came, once gathering is over (a refused credential ends it without relay).
function gatherTypes(page, iceServer) {
    return page.evaluate(async (server) => {
        const pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
        const types = [];
        pc.onicecandidate = (e) => { if (e.candidate) types.push(e.candidate.type); };
        pc.createDataChannel('probe');
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise((resolve) => {
            if (pc.iceGatheringState === 'complete') resolve();
            pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
        });
        pc.close();
        return types;
    }, iceServer);
}

describe('TURN: a viewer that cannot reach the media address relays through coturn', { timeout: 300000 }, () => {
    const bin = findBinary();
    const steps = failureTracking();
    const step = steps.step;
    const dir = mkdtempSync(join(tmpdir(), 'stagecast-turn-'));
    const dataDir = join(dir, 'data');
    const secretFile = join(dir, 'turn-secret');
    const pageErrors = [];
    const procs = {};
    const other = new PeerNamespace('turn', SERVER_IP, VIEWER_IP);
    let log = '';
    let turnLog = '';
    let port;
    let presenterBrowser;
    let viewerBrowser;
    let probe;

    async function token(role) {
        const { stdout } = await run(bin, ['token', '--data', dataDir, '--room', ROOM, '--role', role]);
        return stdout.trim().split('\n').pop().trim();
    }

    before(async () => {
        await other.create();
        // The media address: on this side only, and not in the pair's /24.
        await run('ip', ['addr', 'add', `${MEDIA_IP}/32`, 'dev', 'lo']);

        writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
        // turns: needs a certificate: one for the address the viewer dials.
        await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
            '-nodes', '-days', '2', '-subj', '/CN=turn.stagecast.test',
            '-addext', `subjectAltName=IP:${SERVER_IP}`,
            '-keyout', join(dir, 'turn-key.pem'), '-out', join(dir, 'turn-cert.pem')]);
        await run(join(REPO, 'scripts/turn/configure'), [
            '--secret-file', secretFile, '--media-ip', MEDIA_IP, '--listen-ip', SERVER_IP,
            '--port', String(TURN_PORT), '--realm', 'stagecast-test',
            '--tls-port', String(TURNS_PORT), '--cert', join(dir, 'turn-cert.pem'),
            '--key', join(dir, 'turn-key.pem'),
            '--out', join(dir, 'turnserver.conf')]);
        procs.coturn = spawnWatched('turnserver', ['-c', join(dir, 'turnserver.conf')], (c) => { turnLog += c; });

        port = await freePort('tcp');
        procs.stagecast = spawnWatched(bin, ['serve', '--data', dataDir, '--listen', `0.0.0.0:${port}`,
            '--media-ip', MEDIA_IP, '--udp-port', '20200', '--drain-timeout', '0',
            '--turn', TURN_URL, '--turn', TURNS_URL, '--turn-secret-file', secretFile],
        (c) => { log += c; });
        await waitFor('GET /api/health', async () => {
            assert.equal(procs.stagecast.exitInfo, null, `stagecast exited:\n${log}`);
            return (await fetch(`http://127.0.0.1:${port}/api/health`)).ok;
        }, 20000);
        await waitFor('coturn to start', () => {
            assert.equal(procs.coturn.exitInfo, null, `turnserver exited:\n${turnLog}`);
            return /Total General servers/.test(turnLog);
        }, 20000);

        presenterBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
        // Chromium checks a turns: server's certificate like a web site's;
        // this one is self-signed.
        viewerBrowser = await other.launchChromium(dir, ['--ignore-certificate-errors']);
    });

    after(async () => {
        await presenterBrowser?.close().catch(() => {});
        await viewerBrowser?.close().catch(() => {});
        await stopAll(Object.values(procs));
        await other.remove();
        await run('ip', ['addr', 'del', `${MEDIA_IP}/32`, 'dev', 'lo']).catch(() => {});
        if (steps.failed || process.env.STAGECAST_LOG) {
            console.log(`--- server log ---\n${log}\n--- coturn log ---\n${turnLog.slice(-20000)}`);
        }
        rmSync(dir, { recursive: true, force: true });
        assert.deepEqual(pageErrors, []);
        assert.equal(procs.stagecast?.exitInfo?.code, 0, 'stagecast exits cleanly on SIGTERM');
    });

    step('the viewer namespace has no route to the media address', async () => {
        await assert.rejects(run('ip', ['-n', other.ns, 'route', 'get', MEDIA_IP]), /unreachable/i);
        await run('ip', ['-n', other.ns, 'route', 'get', SERVER_IP]);
    });

    step('coturn relays (UDP and TLS) for a credential Stagecast minted, not for a forged or expired one', async () => {
        const context = await viewerBrowser.newContext();
        probe = await context.newPage();
        probe.on('pageerror', (err) => pageErrors.push(`probe: ${err.message}`));
        await probe.goto(`http://${SERVER_IP}:${port}/index.html`);
        const res = await fetch(`http://127.0.0.1:${port}/api/ice-servers`,
            { headers: { Authorization: `Bearer ${await token('viewer')}` } });
        assert.equal(res.status, 200);
        const [good] = (await res.json()).ice_servers;
        assert.deepEqual(good.urls, [TURN_URL, TURNS_URL]);
        const server = { urls: TURN_URL, username: good.username, credential: good.credential };
        assert.ok((await gatherTypes(probe, server)).includes('relay'), 'a relay candidate with the minted credential');
        assert.ok((await gatherTypes(probe, { ...server, urls: TURNS_URL })).includes('relay'),
            'a relay candidate over turns: (TLS) with the minted credential');

        const forged = { ...server, credential: credentialFor(good.username, 'not-the-shared-secret') };
        assert.deepEqual(await gatherTypes(probe, forged), [], 'no relay with a forged credential');
        const pastUser = `${Math.floor(Date.now() / 1000) - 60}:${good.username.split(':')[1]}`;
        const expired = { ...server, username: pastUser, credential: credentialFor(pastUser) };
        assert.deepEqual(await gatherTypes(probe, expired), [], 'no relay with an expired credential');
        // The same scheme with a live expiry works: what coturn checks is
        // the HMAC of the secret and the time in the username.
        const liveUser = `${Math.floor(Date.now() / 1000) + 600}:someone`;
        assert.ok((await gatherTypes(probe, { ...server, username: liveUser, credential: credentialFor(liveUser) }))
            .includes('relay'));
        await context.close();

        // Why the viewer's Chromium has --ignore-certificate-errors: one
        // without it (the presenter's, beside the server) refuses this
        // self-signed turns: server, while the same credential over UDP
        // works for it.
        const plain = await presenterBrowser.newContext();
        const unchecked = await plain.newPage();
        await unchecked.goto(`http://127.0.0.1:${port}/index.html`);
        assert.ok((await gatherTypes(unchecked, server)).includes('relay'), 'UDP TURN from beside the server');
        assert.deepEqual(await gatherTypes(unchecked, { ...server, urls: TURNS_URL }), [],
            'Chromium checks the turns: certificate');
        await plain.close();
    });

    step('the presenter beside the server goes live', async () => {
        const context = await presenterBrowser.newContext();
        const page = await context.newPage();
        page.on('pageerror', (err) => pageErrors.push(`presenter: ${err.message}`));
        await page.goto(`http://127.0.0.1:${port}/presenter.html#room=${ROOM}&token=${await token('presenter')}`);
        await goLive(page);
    });

    // A viewer page in the viewer's namespace, once it has decoded frames
    // and 30 more.
    async function watching(label) {
        const context = await viewerBrowser.newContext();
        const viewer = await context.newPage();
        viewer.on('pageerror', (err) => pageErrors.push(`${label}: ${err.message}`));
        await viewer.goto(`http://${SERVER_IP}:${port}/viewer.html#room=${ROOM}&token=${await token('viewer')}`);
        const decoded = async () => {
            const s = await viewer.evaluate(() => window.stagecast.stats());
            return s.video.reduce((n, v) => n + (v.framesDecoded || 0), 0);
        };
        const first = await waitFor(`the ${label} decoding frames`, async () => (await decoded()) > 0 && decoded(), 90000);
        await waitFor('more frames', async () => (await decoded()) >= first + 30, 60000);
        return { context, viewer };
    }

    step('the viewer plays the stream through the relay', async () => {
        const { context, viewer } = await watching('viewer');
        const audio = await viewer.evaluate(async () => {
            let n = 0;
            (await window.stagecast.pc.getStats()).forEach((r) => {
                if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.packetsReceived || 0;
            });
            return n;
        });
        assert.ok(audio > 0, 'audio arrives too');
        // The pair carrying the media: our side a relay candidate (coturn's
        // address), the far side the media address.
        const pair = await selectedPair(viewer, 'window.stagecast.pc');
        assert.equal(pair.local?.type, 'relay', JSON.stringify(pair));
        assert.equal(pair.local.address, MEDIA_IP, JSON.stringify(pair)); // coturn's relay-ip
        assert.equal(pair.remote?.address, MEDIA_IP, JSON.stringify(pair));
        assert.ok(pair.bytesReceived > 0, JSON.stringify(pair));
        await context.close();
    });

    step('with UDP and TCP 3478 dropped, the viewer plays through turns: (TLS)', async () => {
        // A firewall that lets only TLS out (nftables in the viewer's
        // namespace): the UDP relay, TURN over TCP 3478 and every direct
        // path are gone; turns: on 5349 is what is left.
        const nft = (...a) => run('ip', ['netns', 'exec', other.ns, 'nft', ...a]);
        await nft('add', 'table', 'inet', 'tlsonly');
        await nft('add', 'chain', 'inet', 'tlsonly', 'output', '{ type filter hook output priority 0; }');
        await nft('add', 'rule', 'inet', 'tlsonly', 'output', 'meta', 'l4proto', 'udp', 'counter', 'drop');
        await nft('add', 'rule', 'inet', 'tlsonly', 'output', 'tcp', 'dport', String(TURN_PORT), 'counter', 'drop');
        try {
            const { context, viewer } = await watching('TLS viewer');
            const pair = await selectedPair(viewer, 'window.stagecast.pc');
            assert.equal(pair.local?.type, 'relay', JSON.stringify(pair));
            assert.equal(pair.local.relayProtocol, 'tls', JSON.stringify(pair));
            assert.equal(pair.remote?.address, MEDIA_IP, JSON.stringify(pair));
            assert.ok(pair.bytesReceived > 0, JSON.stringify(pair));
            // The firewall was in the way: UDP was tried and dropped.
            const { stdout } = await nft('list', 'table', 'inet', 'tlsonly');
            assert.match(stdout, /udp counter packets [1-9]/, stdout);
            await context.close();
        } finally {
            await nft('delete', 'table', 'inet', 'tlsonly').catch(() => {});
        }
    });
});
