// The external check end to end, through the pages: an organiser sets up
// an event checked by its own system in the console's Events tab (a bad
// address is refused at its field; the secret is never shown again); a
// viewer on the watch page is asked for the access code, a denied code
// shows the organiser's message, an allowed one opens the viewer page
// under the name the organiser's system gave.  The organiser's system is
// a small HTTP server in this test (loopback only), which checks each
// request's signature with the shared secret.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { Platform, failureTracking, localInputIn, openEventsTab, waitFor } from './harness.mjs';

const SLUG = 'partner-briefing';
const SECRET = 'partner-secret-0123456789';
const DENIED = 'Your pass has expired. Ask reception for a new one.';

// The organiser's system: OPEN-* admits as Dana Scully, anything else is
// refused with DENIED; every request's signature is checked.
function customerSystem() {
    const seen = [];
    const server = createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const raw = Buffer.concat(chunks);
            const ts = req.headers['x-stagecast-timestamp'] || '';
            const want = `sha256=${createHmac('sha256', SECRET).update(`${ts}.`).update(raw).digest('hex')}`;
            const got = String(req.headers['x-stagecast-signature'] || '');
            const signed = got.length === want.length && timingSafeEqual(Buffer.from(got), Buffer.from(want));
            const body = JSON.parse(raw.toString());
            seen.push({ signed, body, fresh: Math.abs(Number(ts) - Date.now() / 1000) < 300 });
            const code = body.fields?.code || '';
            const answer = !signed ? { allow: false, message: 'bad signature' }
                : code.startsWith('OPEN-') ? { allow: true, name: 'Dana Scully', user_id: 'dana.scully' }
                    : { allow: false, message: DENIED };
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify(answer));
        });
    });
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, seen, port: server.address().port })));
}

describe('events: an external check through the pages', { timeout: 240000 }, () => {
    const platform = new Platform('extcheck-test');
    const steps = failureTracking();
    const step = steps.step;
    let customer;
    let organiser;
    let viewer;
    const row = (slug) => organiser.locator(`#event-rows tr[data-slug="${slug}"]`);

    before(async () => {
        customer = await customerSystem();
        await platform.start();
    });
    after(async () => {
        customer?.server.close();
        await platform.finish(steps.failed);
    });

    step('the organiser sets up the check in the Events tab', async () => {
        organiser = await platform.newPage('organiser');
        await openEventsTab(organiser, platform.base, await platform.adminToken());
        await organiser.getByRole('button', { name: 'New event' }).click();
        const form = organiser.locator('#event-form');
        await form.getByLabel('Title').fill('Partner briefing');
        await form.getByLabel('Slug').fill(SLUG);
        await form.getByLabel('Starts').fill(await localInputIn(organiser, 30));
        await form.getByLabel('Ends').fill(await localInputIn(organiser, 90));
        await form.getByLabel('Checked by your own system').check();
        const url = form.getByLabel('Check URL');
        assert.equal(await url.isVisible(), true);
        // One field to start from: the access code.
        assert.equal(await form.locator('#ev-ext-fields [data-part="label"]').inputValue(), 'Access code');
        assert.equal(await form.locator('#ev-ext-fields [data-part="name"]').inputValue(), 'code');

        // The server refuses an address with a user in it, at the field.
        await url.fill(`http://someone:pw@127.0.0.1:${customer.port}/check`);
        await form.getByLabel(/^Shared secret/).fill(SECRET);
        await form.getByRole('button', { name: 'Create event' }).click();
        await waitFor('the address refused', async () => (await url.getAttribute('aria-invalid')) === 'true');
        assert.match(await organiser.locator('#event-form-error').textContent(), /^Check URL: external\.url must be/);

        await url.fill(`http://127.0.0.1:${customer.port}/check`);
        await form.getByLabel(/^Timeout/).fill('2000');
        await form.getByRole('button', { name: 'Create event' }).click();
        await waitFor('the event in the list', async () => (await row(SLUG).count()) === 1);
        assert.equal(await row(SLUG).locator('.watch-type').textContent(), 'external');

        // Editing shows the settings but never the secret.
        await row(SLUG).getByRole('button', { name: 'Edit' }).click();
        assert.equal(await url.inputValue(), `http://127.0.0.1:${customer.port}/check`);
        assert.equal(await form.getByLabel(/^Shared secret/).inputValue(), '');
        assert.match(await organiser.locator('#ev-ext-secret-help').textContent(), /A secret is set/);
        assert.equal(await form.getByLabel(/^Timeout/).inputValue(), '2000');
        await form.getByRole('button', { name: 'Cancel' }).click();
        const listed = await organiser.evaluate(async (token) => {
            const res = await fetch('/api/v1/events', { headers: { Authorization: `Bearer ${token}` } });
            return res.text();
        }, await platform.adminToken());
        assert.equal(listed.includes(SECRET), false);
    });

    step('a denied code shows the organiser\'s message', async () => {
        viewer = await platform.newPage('viewer');
        await viewer.goto(`${platform.base}/e/${SLUG}`);
        await waitFor('the landing page', () => viewer.evaluate(() => document.body.dataset.state === 'ready'));
        assert.equal(await viewer.getByLabel('Password').isVisible(), false);
        const code = viewer.getByLabel(/^Access code/);
        assert.equal(await code.isVisible(), true);

        // Empty: said on the page, nothing sent.
        await viewer.getByRole('button', { name: 'Watch' }).click();
        await waitFor('the empty field refused', async () => /Fill in Access code/.test(await viewer.locator('#join-error').textContent()));
        assert.equal(customer.seen.length, 0);

        await code.fill('EXPIRED-7');
        await viewer.getByRole('button', { name: 'Watch' }).click();
        const error = viewer.locator('#join-error');
        await waitFor('the refusal', async () => (await error.textContent()) === DENIED);
        assert.equal(await code.getAttribute('aria-invalid'), 'true');
        assert.equal(new URL(viewer.url()).pathname, `/e/${SLUG}`);
        assert.equal(customer.seen.length, 1);
        assert.deepEqual(customer.seen[0].body.fields, { code: 'EXPIRED-7' });
        assert.equal(customer.seen[0].body.event.slug, SLUG);
        assert.equal(customer.seen[0].signed, true, 'the signature verifies with the shared secret');
        assert.equal(customer.seen[0].fresh, true);
    });

    step('an allowed code opens the viewer page as the organiser\'s system names the viewer', async () => {
        await viewer.getByLabel(/^Access code/).fill('OPEN-42');
        await viewer.getByLabel('Your name (optional)').fill('typed name');
        await viewer.getByRole('button', { name: 'Watch' }).click();
        await waitFor('the viewer page', () => new URL(viewer.url()).pathname === `/e/${SLUG}/view`);
        const hash = new URLSearchParams(new URL(viewer.url()).hash.slice(1));
        const claims = JSON.parse(Buffer.from(hash.get('token').split('.')[1], 'base64url').toString());
        assert.equal(claims.room, SLUG);
        assert.equal(claims.name, 'Dana Scully');
        assert.equal(claims.sub, 'ext-dana.scully');
        assert.equal(customer.seen.at(-1).body.name, 'typed name');
        assert.equal(customer.seen.at(-1).signed, true);
        await waitFor('the viewer waiting for the presenter', () => viewer.evaluate(() =>
            document.body.dataset.state === 'waiting'));

        const stats = await platform.stats();
        assert.equal(stats.external_checks_allowed, 1);
        assert.equal(stats.external_checks_denied, 1);
        assert.equal(stats.external_checks_failed, 0);
    });
});
