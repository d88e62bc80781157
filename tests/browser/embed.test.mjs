// Embedding an event's watch link in another site (issue 18): the event
// names the origins that may frame it (Content-Security-Policy
// frame-ancestors).  Two "customer sites" served by this test on other
// ports of loopback (other origins) put the watch link in an <iframe>:
// the allowed one shows the landing page, admits the viewer with one click
// and hands over to the viewer page inside the frame; the other site gets
// nothing (Chromium blocks the frame).  Our other pages frame nowhere but
// on this server.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Platform, failureTracking, freePort, waitFor } from './harness.mjs';

const SLUG = 'embedded-launch';

// A customer's page: an iframe on the watch link.
function customerSite(port, src) {
    const server = createServer((req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end(`<!doctype html><title>Customer intranet</title><h1>Intranet</h1>
<iframe id="live" src="${src}" width="960" height="640"></iframe>`);
    });
    return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('events: the watch link inside another site', { timeout: 240000 }, () => {
    const platform = new Platform('embed-test');
    const steps = failureTracking();
    const step = steps.step;
    const sites = [];
    let allowedPort;
    let otherPort;

    before(async () => {
        await platform.start();
        allowedPort = await freePort('tcp');
        otherPort = await freePort('tcp');
        const res = await fetch(`${platform.base}/api/v1/events`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${await platform.adminToken()}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({ title: 'Embedded launch', slug: SLUG, starts_at: Math.floor(Date.now() / 1000) + 3600,
                embed_origins: [`http://127.0.0.1:${allowedPort}`] }),
        });
        assert.equal(res.status, 201, await res.text());
        const watch = `${platform.base}/e/${SLUG}`;
        sites.push(await customerSite(allowedPort, watch));
        sites.push(await customerSite(otherPort, watch));
    });
    after(async () => {
        for (const s of sites) s.close();
        const exit = await platform.stop();
        if (steps.failed) console.log(`--- stagecast log (tail) ---\n${platform.log.slice(-10000)}`);
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
    });

    const frameOf = (page) => page.frames().find((f) => f !== page.mainFrame());

    step('the allowed site frames the landing page, and the viewer gets in without leaving it', async () => {
        const context = await platform.browser.newContext();
        const page = await context.newPage();
        platform.watch(page, 'allowed site');
        await page.goto(`http://127.0.0.1:${allowedPort}/`);
        await waitFor('the framed landing page', async () =>
            (await frameOf(page)?.locator('#title').textContent().catch(() => null)) === 'Embedded launch', 60000);
        await frameOf(page).locator('#watch').click();
        await waitFor('the viewer page inside the frame', async () => {
            const f = frameOf(page);
            return f && new URL(f.url()).pathname === `/e/${SLUG}/view` &&
                (await f.evaluate(() => !!window.stagecast).catch(() => false));
        }, 60000);
        assert.equal(new URL(page.url()).port, String(allowedPort), 'the top page is still the customer site');
        await context.close();
    });

    step('a site the event does not name gets no frame', async () => {
        const context = await platform.browser.newContext();
        const page = await context.newPage();
        const blocked = [];
        page.on('console', (m) => { if (/frame-ancestors|Refused to frame/i.test(m.text())) blocked.push(m.text()); });
        await page.goto(`http://127.0.0.1:${otherPort}/`);
        await waitFor('Chromium to refuse the frame', () => blocked.length > 0, 60000);
        const title = await frameOf(page)?.locator('#title').textContent({ timeout: 2000 }).catch(() => null);
        assert.notEqual(title, 'Embedded launch', 'the landing page must not render there');
        await context.close();
    });

    step('the other pages frame only on this server', async () => {
        for (const path of ['/viewer.html', '/presenter.html', '/admin.html', `/e/${SLUG}`]) {
            const res = await fetch(`${platform.base}${path}`);
            const csp = res.headers.get('content-security-policy') || '';
            assert.match(csp, /^frame-ancestors 'self'/, `${path}: ${csp}`);
            if (!path.startsWith('/e/')) assert.equal(csp, "frame-ancestors 'self'", path);
        }
    });
});
