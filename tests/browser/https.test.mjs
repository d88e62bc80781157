// HTTPS off the loopback: a presenter opens the page at https://<address of
// a veth>/ (not localhost), gets its fake camera (a secure context) and goes
// live; a viewer whose Chromium runs in another network namespace, joined to
// this one only by the veth pair, watches over HTTPS, WSS and media across
// the pair.  The same page over plain HTTP on that address gets no camera:
// the browser's secure-context rule is what this test exercises.  Plain HTTP
// on --http-redirect answers 301 to the HTTPS origin, and SIGHUP reloads the
// certificate (a broken file keeps the old one).
//
// Needs root in the runner's namespace (tests/browser/run): it makes a veth
// pair and one more network namespace, both removed afterwards.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, PeerNamespace, failureTracking, findBinary, goLive, spawnWatched, stopAll,
    waitFor } from './harness.mjs';

const run = promisify(execFile);
const ROOM = 'https-test';
const SERVER_IP = '10.91.0.1';
const VIEWER_IP = '10.91.0.2';
const PORT = 8443;
const REDIRECT_PORT = 8080;
const PLAIN_PORT = 8081;

// GET over HTTPS trusting only the server's own certificate: the request
// fails unless the certificate names SERVER_IP (its subjectAltName).
function httpsGet(path, ca) {
    return new Promise((resolve, reject) => {
        const req = request({ host: SERVER_IP, port: PORT, path, ca, timeout: 5000 }, (res) => {
            let body = '';
            res.on('data', (d) => { body += d; });
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end();
    });
}

describe('HTTPS on a non-local address, viewer in another namespace', { timeout: 300000 }, () => {
    const bin = findBinary();
    const steps = failureTracking();
    const step = steps.step;
    const dataDir = mkdtempSync(join(tmpdir(), 'stagecast-https-'));
    const plainDir = mkdtempSync(join(tmpdir(), 'stagecast-http-'));
    const servers = [];
    const other = new PeerNamespace('https', SERVER_IP, VIEWER_IP);
    const pageErrors = [];
    let log = '';
    let presenterBrowser;
    let viewerBrowser;
    let presenter;
    let viewer;
    let cert;

    function serve(args, dir) {
        const p = spawnWatched(bin, ['serve', '--data', dir, '--media-ip', SERVER_IP, '--drain-timeout', '0', ...args],
            (c) => { log += c; });
        servers.push(p);
        return p;
    }

    async function token(role, dir = dataDir) {
        const { stdout } = await run(bin, ['token', '--data', dir, '--room', ROOM, '--role', role]);
        return stdout.trim().split('\n').pop().trim();
    }

    before(async () => {
        await other.create();

        serve(['--listen', `${SERVER_IP}:${PORT}`, '--udp-port', '20000', '--tls-self-signed',
               '--http-redirect', String(REDIRECT_PORT)], dataDir);
        serve(['--listen', `${SERVER_IP}:${PLAIN_PORT}`, '--udp-port', '20100'], plainDir);
        // The certificate is made before the server listens.
        await waitFor('the self-signed certificate', () => {
            try { return readFileSync(join(dataDir, 'tls', 'cert.pem')); } catch { return null; }
        }, 20000);
        cert = readFileSync(join(dataDir, 'tls', 'cert.pem'));
        await waitFor('GET /api/health over HTTPS', async () => {
            assert.equal(servers[0].exitInfo, null, `stagecast exited:\n${log}`);
            return (await httpsGet('/api/health', cert)).status === 200;
        }, 20000);

        presenterBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
        // The viewer's Chromium lives in the other namespace: its only way to
        // the server is the veth pair.
        viewerBrowser = await other.launchChromium(dataDir);
    });

    after(async () => {
        await presenterBrowser?.close().catch(() => {});
        await viewerBrowser?.close().catch(() => {});
        await stopAll(servers);
        await other.remove();
        if (steps.failed || process.env.STAGECAST_LOG) console.log(`--- server log ---\n${log}`);
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(plainDir, { recursive: true, force: true });
        assert.deepEqual(pageErrors, []);
        assert.deepEqual(servers.map((p) => p.exitInfo?.code), [0, 0], 'servers exit cleanly on SIGTERM');
    });

    step('the certificate names the address, HSTS is on, and the fingerprint is logged', async () => {
        const res = await httpsGet('/api/health', cert);
        assert.equal(res.status, 200);
        assert.match(res.headers['strict-transport-security'] || '', /max-age=\d+/);
        const x = new X509Certificate(cert);
        assert.match(x.subjectAltName, new RegExp(`IP Address:${SERVER_IP.replace(/\./g, '\\.')}`));
        assert.match(x.subjectAltName, /DNS:localhost/);
        assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
        assert.ok(log.includes(`SHA-256 ${x.fingerprint256}`), 'the log names the SHA-256 fingerprint');
        assert.ok(log.includes(`listening on https://${SERVER_IP}:${PORT}`));
    });

    step('plain HTTP on the redirect port answers 301 to the HTTPS origin', async () => {
        const res = await fetch(`http://${SERVER_IP}:${REDIRECT_PORT}/viewer.html?x=1&y=a%20b`,
            { redirect: 'manual' });
        assert.equal(res.status, 301);
        const to = new URL(res.headers.get('location'));
        assert.equal(`${to.origin}${to.pathname}`, `https://${SERVER_IP}:${PORT}/viewer.html`);
        assert.deepEqual([...to.searchParams], [['x', '1'], ['y', 'a b']]);
        // A Host header that is no host name cannot shape the URL: the
        // server's own address is used instead.
        const forged = await new Promise((resolve, reject) => {
            const req = httpRequest({ host: SERVER_IP, port: REDIRECT_PORT, path: '/viewer.html',
                                      headers: { Host: 'evil.example/x?' } }, (r) => {
                r.resume();
                resolve(r.headers.location);
            });
            req.on('error', reject);
            req.end();
        });
        assert.equal(forged, `https://${SERVER_IP}:${PORT}/viewer.html`);
    });

    step('over plain HTTP on that address the presenter page gets no camera', async () => {
        const context = await presenterBrowser.newContext();
        const page = await context.newPage();
        const tok = await token('presenter', plainDir);
        await page.goto(`http://${SERVER_IP}:${PLAIN_PORT}/presenter.html#room=${ROOM}&token=${tok}`);
        assert.equal(await page.evaluate(() => window.isSecureContext), false);
        assert.equal(await page.evaluate(() => typeof navigator.mediaDevices), 'undefined');
        await waitFor('the page to say it needs HTTPS', async () =>
            /open this page over https/.test(await page.textContent('#error') || ''));
        await context.close();
    });

    step('over HTTPS the presenter gets its camera and goes live', async () => {
        const context = await presenterBrowser.newContext({ ignoreHTTPSErrors: true });
        presenter = await context.newPage();
        presenter.on('pageerror', (err) => pageErrors.push(`presenter: ${err.message}`));
        const tok = await token('presenter');
        await presenter.goto(`https://${SERVER_IP}:${PORT}/presenter.html#room=${ROOM}&token=${tok}`);
        assert.equal(await presenter.evaluate(() => window.isSecureContext), true);
        await goLive(presenter);
    });

    step('a viewer in the other namespace watches over HTTPS, WSS and the veth', async () => {
        const context = await viewerBrowser.newContext({ ignoreHTTPSErrors: true });
        viewer = await context.newPage();
        viewer.on('pageerror', (err) => pageErrors.push(`viewer: ${err.message}`));
        const tok = await token('viewer');
        await viewer.goto(`https://${SERVER_IP}:${PORT}/viewer.html#room=${ROOM}&token=${tok}`);
        const decoded = async () => {
            const s = await viewer.evaluate(() => window.stagecast.stats());
            return s.video.reduce((n, v) => n + (v.framesDecoded || 0), 0);
        };
        const first = await waitFor('the viewer decoding frames', async () => (await decoded()) > 0 && decoded(), 60000);
        await waitFor('more frames', async () => (await decoded()) >= first + 30, 60000);
        // The viewer's media came from the server's veth address.
        const remote = await viewer.evaluate(async () => {
            const out = [];
            (await window.stagecast.pc.getStats()).forEach((r) => {
                if (r.type === 'remote-candidate') out.push(r.address || r.ip);
            });
            return out;
        });
        assert.ok(remote.includes(SERVER_IP), `remote candidates ${JSON.stringify(remote)}`);
    });

    step('SIGHUP reloads the certificate; a broken file keeps the old one', async () => {
        const file = join(dataDir, 'tls', 'cert.pem');
        copyFileSync(file, `${file}.good`);
        writeFileSync(file, 'not a certificate\n');
        servers[0].kill('SIGHUP');
        await waitFor('the refused reload in the log', () => /keeping the current certificate/.test(log), 10000);
        assert.equal((await httpsGet('/api/health', cert)).status, 200, 'still served with the old pair');
        copyFileSync(`${file}.good`, file);
        servers[0].kill('SIGHUP');
        await waitFor('the reload in the log', () => /\[tls\] reloaded /.test(log), 10000);
        assert.equal((await httpsGet('/api/health', cert)).status, 200);
        assert.equal(servers[0].exitInfo, null);
    });
});
