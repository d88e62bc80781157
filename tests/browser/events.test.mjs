// Events end to end, through the pages only: an organiser schedules a
// password event in the console's Events tab and copies a presenter link
// from it; a viewer opens the watch link, sees the landing page (the title
// as text, a countdown), is refused a wrong password and admitted with the
// right one; the presenter goes live from the console's link and the viewer
// decodes; the console shows the event live.  A public event made from the
// first ("Create from this") admits with one click; deleting it leaves "No
// such event"; ending the first closes its watch page.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Platform, failureTracking, framesDecoded, goLive, localInputIn, openEventsTab, waitFor } from './harness.mjs';

const TITLE = 'Town hall <img src=x onerror="window.__pwned = 1">';
const SLUG = 'town-hall';
const PASSWORD = 'open sesame';

describe('events: console, watch link, viewer', { timeout: 300000 }, () => {
    const platform = new Platform('events-test');
    const steps = failureTracking();
    const step = steps.step;
    let organiser;       // admin.html, Events tab
    let viewer;          // the watch page, then the viewer page
    let presenter;
    let presenterUrl;
    const row = (slug) => organiser.locator(`#event-rows tr[data-slug="${slug}"]`);
    const rowState = (slug) => organiser.evaluate((s) =>
        document.querySelector(`#event-rows tr[data-slug="${s}"]`)?.dataset.state ?? null, slug);
    const watchUrl = (slug) => row(slug).locator('.watch-link a').getAttribute('href');

    before(async () => {
        await platform.start();
    });
    after(() => platform.finish(steps.failed));

    step('the organiser schedules a password event in the Events tab', async () => {
        const admin = await platform.adminToken();
        organiser = await platform.newPage('organiser', { permissions: ['clipboard-read', 'clipboard-write'] });
        await openEventsTab(organiser, platform.base, admin);
        assert.equal(await organiser.locator('#events-empty').isVisible(), true);

        await organiser.getByRole('button', { name: 'New event' }).click();
        const form = organiser.locator('#event-form');
        await form.getByLabel('Title').fill(TITLE);
        await form.getByLabel('Slug').fill(SLUG);
        await form.getByLabel('Description').fill('Quarterly results <b>and</b> questions.');
        await form.getByLabel('Starts').fill(await localInputIn(organiser, 30));
        await form.getByLabel('Ends').fill(await localInputIn(organiser, 90));
        await form.getByLabel('With a password').check();
        await form.getByLabel('Password', { exact: true }).fill(PASSWORD);
        await form.getByLabel('Brand colour').check();
        await form.getByLabel('Colour', { exact: true }).fill('#0a66c2');
        await form.getByLabel('Landing text').fill('Bring your questions.');
        await form.getByRole('button', { name: 'Create event' }).click();

        await waitFor('the event in the list', async () => (await row(SLUG).count()) === 1);
        assert.equal(await form.isVisible(), false);
        assert.equal(await row(SLUG).locator('.event-title').textContent(), TITLE);
        assert.equal(await organiser.locator('#event-rows img').count(), 0);
        assert.equal(await rowState(SLUG), 'scheduled');
        assert.equal(await row(SLUG).locator('.watch-type').textContent(), 'password');
        assert.equal(await watchUrl(SLUG), `${platform.base}/e/${SLUG}`);
        // The start in the organiser's local time, as the page's clock reads it.
        const shown = await row(SLUG).locator('.starts time').textContent();
        const expected = await organiser.evaluate(() => {
            const d = new Date(document.querySelector('#ev-starts').value);
            return d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
        });
        assert.equal(shown, expected);

        // The API's refusal shows beside the form and names the field.
        await organiser.getByRole('button', { name: 'New event' }).click();
        await form.getByLabel('Title').fill('Another one');
        await form.getByLabel('Slug').fill(SLUG);
        await form.getByRole('button', { name: 'Create event' }).click();
        await waitFor('the slug refused', async () =>
            (await form.getByLabel('Slug').getAttribute('aria-invalid')) === 'true');
        assert.match(await organiser.locator('#event-form-error').textContent(), /^Slug: .*town-hall/);
        await form.getByRole('button', { name: 'Cancel' }).click();
        assert.equal(await organiser.locator('#event-rows tr').count(), 1);
    });

    step('the console issues a presenter link to copy', async () => {
        await row(SLUG).getByRole('button', { name: 'Presenter link' }).click();
        const box = organiser.locator('#presenter-link');
        await waitFor('the presenter link', () => box.isVisible());
        const shown = await box.getByLabel('Presenter link').inputValue();
        assert.ok(shown.startsWith(`${platform.base}/presenter.html#room=${SLUG}&token=`), shown);
        assert.equal(await box.getByRole('link', { name: 'Open' }).getAttribute('href'), shown);
        await box.getByRole('button', { name: 'Copy' }).click();
        presenterUrl = await waitFor('the link on the clipboard', () =>
            organiser.evaluate(() => navigator.clipboard.readText()));
        assert.equal(presenterUrl, shown);
    });

    step('the watch page shows the event as text, with a countdown', async () => {
        const res = await fetch(`${platform.base}/e/${SLUG}`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type'), /^text\/html/, 'GET /e/{slug} must be served as HTML');
        viewer = await platform.newPage('viewer');
        await viewer.goto(await watchUrl(SLUG));
        await waitFor('the landing page', () => viewer.evaluate(() => document.body.dataset.state === 'ready'));
        const shown = await viewer.evaluate(() => ({
            title: document.querySelector('#title').textContent,
            description: document.querySelector('#description').textContent,
            landing: document.querySelector('#landing-text').textContent,
            images: document.querySelectorAll('img').length,
            pwned: window.__pwned ?? null,
            brand: document.body.style.getPropertyValue('--brand'),
            documentTitle: document.title,
        }));
        assert.deepEqual(shown, {
            title: TITLE, description: 'Quarterly results <b>and</b> questions.', landing: 'Bring your questions.',
            images: 0, pwned: null, brand: '#0a66c2', documentTitle: `${TITLE} · Stagecast`,
        });
        const first = await viewer.locator('#countdown').textContent();
        assert.match(first, /^Starts in 00:[0-3]\d:\d\d$/);
        await waitFor('the countdown to move', async () => (await viewer.locator('#countdown').textContent()) !== first);
        assert.equal(await viewer.getByLabel('Password').isVisible(), true);
    });

    step('a wrong password is refused; the right one opens the viewer page', async () => {
        await viewer.getByLabel('Password').fill('not the password');
        await viewer.getByRole('button', { name: 'Watch' }).click();
        const error = viewer.locator('#join-error');
        await waitFor('the refusal', () => error.isVisible());
        assert.match(await error.textContent(), /Wrong password/);
        assert.equal(await viewer.getByLabel('Password').getAttribute('aria-invalid'), 'true');
        assert.equal(new URL(viewer.url()).pathname, `/e/${SLUG}`);

        await viewer.getByLabel('Password').fill(PASSWORD);
        await viewer.getByRole('button', { name: 'Watch' }).click();
        await waitFor('the viewer page', () => new URL(viewer.url()).pathname === `/e/${SLUG}/view`);
        const hash = new URLSearchParams(new URL(viewer.url()).hash.slice(1));
        assert.equal(hash.get('room'), SLUG);
        assert.equal(hash.get('event'), SLUG);
        await waitFor('the viewer waiting for the presenter', () => viewer.evaluate(() =>
            document.body.dataset.state === 'waiting'));
    });

    step('the presenter goes live from the link; the viewer decodes; the console shows it live', async () => {
        presenter = await platform.newPage('presenter');
        await presenter.goto(presenterUrl);
        await goLive(presenter);
        const start = await waitFor('the viewer decoding', async () => {
            const n = await framesDecoded(viewer);
            return n > 0 ? n : null;
        }, 60000);
        await waitFor('more frames decoded', async () => (await framesDecoded(viewer)) >= start + 30, 60000);
        await waitFor('the viewer page live', () => viewer.evaluate(() => document.body.dataset.state === 'live'));
        await waitFor('the event live in the console', async () => (await rowState(SLUG)) === 'live');
        assert.equal(await row(SLUG).locator('.event-state').textContent(), 'live');

        // Another visitor of the watch link is told it is on.
        const late = await platform.newPage('late visitor');
        await late.goto(`${platform.base}/e/${SLUG}`);
        await waitFor('"Live now"', async () => (await late.locator('#countdown').textContent()) === 'Live now');
        await late.context().close();
    });

    step('the viewer page renews its token through the watch link', async () => {
        const before = await viewer.evaluate(() => window.stagecast.signaling.token);
        const after = await viewer.evaluate(async () => {
            const fresh = await window.stagecast.renewal.renew();
            return { fresh: fresh.token, sig: window.stagecast.signaling.token,
                     hash: new URLSearchParams(window.location.hash.slice(1)).get('token'),
                     renewals: window.stagecast.renewal.renewals };
        });
        assert.equal(after.sig, after.fresh);
        assert.equal(after.hash, after.fresh);
        assert.equal(after.renewals, 1);
        const claims = (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());
        assert.equal(claims(after.fresh).room, SLUG);
        assert.equal(claims(after.fresh).role, 'viewer');
        assert.ok(claims(after.fresh).exp >= claims(before).exp);
        assert.equal(await viewer.locator('#error').isVisible(), false);
    });

    step('a co-host link revoked in the console cuts its page off', async () => {
        const box = organiser.locator('#presenter-link');
        await box.getByLabel('Role').selectOption('cohost');
        await box.getByLabel('Their name').fill('Carol');
        await box.getByRole('button', { name: 'Issue link' }).click();
        const issued = organiser.locator('#issued-links');
        await waitFor('Carol listed', async () =>
            (await issued.locator('tbody tr', { hasText: 'Carol' }).count()) === 1);
        const cohostUrl = await box.getByLabel('Co-host link').inputValue();
        const cohost = await platform.newPage('co-host');
        await cohost.goto(cohostUrl);
        await waitFor('the co-host page joined', () => cohost.evaluate(() =>
            document.body.dataset.state !== 'error' && !!window.stagecast?.signaling?.joined));
        await issued.getByRole('button', { name: 'Revoke the link of Co-host Carol' }).click();
        await waitFor('the row marked revoked', async () =>
            (await issued.locator('tbody tr', { hasText: 'Carol' }).getAttribute('data-revoked')) === 'true');
        assert.match(await issued.locator('tbody tr', { hasText: 'Carol' }).textContent(), /revoked/);
        // The page was cut off, and its rejoin is refused for good.
        await waitFor('the co-host page refused', async () =>
            /token-revoked/.test(await cohost.locator('#error').textContent()), 30000);
        assert.equal(await cohost.evaluate(() => document.body.dataset.state), 'error');
        // The presenter's own link still works.
        assert.equal(await presenter.evaluate(() => document.body.dataset.state), 'live');
        await cohost.context().close();
    });

    step('a public event made from this one admits with one click, and is deleted', async () => {
        await row(SLUG).getByRole('button', { name: 'Create from this' }).click();
        const form = organiser.locator('#event-form');
        // The template's settings fill the form; slug and room start empty.
        assert.equal(await form.getByLabel('Description').inputValue(), 'Quarterly results <b>and</b> questions.');
        assert.equal(await form.getByLabel('Slug').inputValue(), '');
        await form.getByLabel('Title').fill('Open day');
        await form.getByLabel('Starts').fill(await localInputIn(organiser, 3 * 24 * 60));
        await form.getByLabel('Ends').fill(await localInputIn(organiser, 3 * 24 * 60 + 60));
        await form.getByLabel('Anyone with the link').check();
        await form.getByRole('button', { name: 'Create event' }).click();
        await waitFor('the public event listed', async () => (await row('open-day').count()) === 1);
        assert.equal(await row('open-day').locator('.watch-type').textContent(), 'public');

        const guest = await platform.newPage('guest');
        await guest.goto(await watchUrl('open-day'));
        await waitFor('the landing page', () => guest.evaluate(() => document.body.dataset.state === 'ready'));
        assert.equal(await guest.locator('#title').textContent(), 'Open day');
        assert.match(await guest.locator('#countdown').textContent(), /^Starts in [23] d \d\d:\d\d:\d\d$/);
        assert.equal(await guest.getByLabel('Password').isVisible(), false);
        await guest.getByRole('button', { name: 'Watch' }).click();
        await waitFor('the viewer page', () => new URL(guest.url()).pathname.startsWith('/e/') && new URL(guest.url()).pathname.endsWith('/view'));
        assert.equal(new URLSearchParams(new URL(guest.url()).hash.slice(1)).get('event'), 'open-day');
        await waitFor('the guest waiting for a presenter', () => guest.evaluate(() =>
            document.body.dataset.state === 'waiting'));
        await guest.context().close();

        // Delete (the confirmation is accepted): the watch link has no event.
        await row('open-day').getByRole('button', { name: 'Delete' }).click();
        await waitFor('the row to go', async () => (await row('open-day').count()) === 0);
        const gone = await platform.newPage('too late');
        await gone.goto(`${platform.base}/e/open-day`);
        await waitFor('"No such event"', () => gone.evaluate(() => document.body.dataset.state === 'missing'));
        assert.equal(await gone.getByRole('heading', { name: 'No such event' }).isVisible(), true);
        await gone.context().close();
    });

    step('ending the event closes its watch link', async () => {
        await row(SLUG).getByRole('button', { name: 'End event' }).click();
        await waitFor('the event ended in the console', async () => (await rowState(SLUG)) === 'ended');
        assert.equal(await row(SLUG).getByRole('button', { name: 'End event' }).count(), 0);
        const late = await platform.newPage('after the end');
        await late.goto(`${platform.base}/e/${SLUG}`);
        await waitFor('"This event has ended"', async () =>
            (await late.locator('#countdown').textContent()) === 'This event has ended');
        assert.equal(await late.getByRole('button', { name: 'Watch' }).count(), 0);
        assert.equal(await organiser.locator('#events-error').isVisible(), false);
    });
});
