// A registration event end to end, through the pages only: an organiser
// builds the registration form in the console's Events tab (two questions
// of their own: Company, text and required; Role, a choice) with approval
// on; a viewer opens the watch link, is told by the server that Company is
// required, registers and waits; the organiser approves the registration
// in the console's Registrations box and the viewer's page opens the viewer
// page by itself.  Another registrant is rejected and told so; the
// registrations' CSV is saved from the console; the console issues a
// co-host link; the presenter goes live from the console's presenter link
// and the approved viewer decodes.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Platform, failureTracking, framesDecoded, goLive, localInputIn, openEventsTab, waitFor } from './harness.mjs';

const SLUG = 'partner-briefing';
const WAITING = 'Waiting for the organiser’s approval';

describe('registration: form builder, approval, viewer', { timeout: 240000 }, () => {
    const platform = new Platform('registration-test');
    const steps = failureTracking();
    const step = steps.step;
    const apiUrls = [];   // every API request the console made
    let admin;
    let organiser;
    let viewer;
    let presenterUrl;

    const newPage = (label) => platform.newPage(label, { locale: 'en-US' });
    const row = (slug) => organiser.locator(`#event-rows tr[data-slug="${slug}"]`);
    const state = (page) => page.evaluate(() => document.body.dataset.state);
    const box = () => organiser.locator('#registrations-box');
    const registrationRow = (name) => box().locator('#registration-rows tr').filter({ hasText: name });

    async function eventBySlug(slug) {
        const res = await fetch(`${platform.base}/api/v1/events`, { headers: { Authorization: `Bearer ${admin}` } });
        return (await res.json()).events.find((e) => e.slug === slug);
    }

    // The watch page of the event, its form on screen.
    async function openWatchPage(label) {
        const page = await newPage(label);
        await page.goto(`${platform.base}/e/${SLUG}`);
        await waitFor('the landing page', async () => (await state(page)) === 'ready', 60000);
        return page;
    }

    before(async () => {
        await platform.start();
        admin = await platform.adminToken();
    });
    after(() => platform.finish(steps.failed));

    step('the organiser builds a registration form in the Events tab', async () => {
        organiser = await newPage('organiser');
        organiser.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/')) apiUrls.push(r.url()); });
        await openEventsTab(organiser, platform.base, admin);

        await organiser.getByRole('button', { name: 'New event' }).click();
        const form = organiser.locator('#event-form');
        await form.getByLabel('Title').fill('Partner briefing');
        await form.getByLabel('Slug').fill(SLUG);
        await form.getByLabel('Starts').fill(await localInputIn(organiser, 30));
        await form.getByLabel('Ends').fill(await localInputIn(organiser, 90));
        const questions = form.locator('#ev-registration');
        assert.equal(await questions.isVisible(), false);
        await form.getByLabel('People who register').check();
        assert.equal(await questions.isVisible(), true);

        // One question is there to start from.
        const q = (i) => questions.locator('.reg-field').nth(i);
        assert.equal(await questions.locator('.reg-field').count(), 1);
        await q(0).getByLabel('Label').fill('Company');
        await q(0).getByLabel('Required').check();
        await questions.getByRole('button', { name: 'Add a question' }).click();
        await q(1).getByLabel('Label').fill('Role');
        assert.equal(await q(1).getByLabel('Options').isVisible(), false);
        await q(1).getByLabel('Type').selectOption('choice');
        await q(1).getByLabel('Options').fill('Engineering\nSales\n\nOther ');
        // A third, removed again.
        await questions.getByRole('button', { name: 'Add a question' }).click();
        await q(2).getByLabel('Label').fill('Shoe size');
        await questions.getByRole('button', { name: 'Remove question 3' }).click();
        assert.equal(await questions.locator('.reg-field').count(), 2);
        await questions.getByLabel('I approve each registration').check();
        await form.getByRole('button', { name: 'Create event' }).click();

        await waitFor('the event in the list', async () => (await row(SLUG).count()) === 1);
        assert.equal(await row(SLUG).locator('.watch-type').textContent(), 'registration');
        const ev = await eventBySlug(SLUG);
        assert.deepEqual(ev.registration, {
            fields: [
                { name: 'company', label: 'Company', type: 'text', required: true },
                { name: 'role', label: 'Role', type: 'choice', required: false, options: ['Engineering', 'Sales', 'Other'] },
            ],
            approval: true,
            capacity: 0,
        });
    });

    step('a refusal of the server marks the input it names', async () => {
        await row(SLUG).getByRole('button', { name: 'Edit' }).click();
        const form = organiser.locator('#event-form');
        // The form comes back as it was stored.
        const questions = form.locator('#ev-registration');
        assert.equal(await questions.locator('.reg-field').nth(1).getByLabel('Options').inputValue(), 'Engineering\nSales\nOther');
        assert.equal(await questions.getByLabel('I approve each registration').isChecked(), true);
        await form.getByLabel('Refused networks').fill('192.0.2.0/24\nnot-a-network');
        await form.getByRole('button', { name: 'Save changes' }).click();
        await waitFor('the networks refused', async () =>
            (await form.getByLabel('Refused networks').getAttribute('aria-invalid')) === 'true');
        assert.match(await organiser.locator('#event-form-error').textContent(), /^Networks: .*not-a-network/);
        assert.equal(await form.getByLabel('Allowed networks').getAttribute('aria-invalid'), null);
        await form.getByRole('button', { name: 'Cancel' }).click();
        assert.deepEqual((await eventBySlug(SLUG)).networks, { allow: [], deny: [] });
    });

    step('the viewer registers; a missing answer is refused by the server; then waits', async () => {
        viewer = await openWatchPage('viewer');
        assert.equal(await viewer.getByRole('button', { name: 'Register' }).isVisible(), true);
        const role = viewer.getByLabel('Role');
        assert.equal(await role.evaluate((s) => s.tagName), 'SELECT');
        assert.deepEqual(await role.locator('option').allTextContents(), ['Choose…', 'Engineering', 'Sales', 'Other']);
        assert.equal(await viewer.getByLabel('Company').evaluate((i) => i.required), true);

        await viewer.getByLabel('Your name').fill('Ada Lovelace');
        await role.selectOption('Engineering');
        await viewer.getByRole('button', { name: 'Register' }).click();
        const error = viewer.locator('#join-error');
        await waitFor('the refusal', () => error.isVisible());
        assert.equal(await error.textContent(), 'Company is required.');
        assert.equal(await viewer.getByLabel('Company').getAttribute('aria-invalid'), 'true');
        assert.equal(await state(viewer), 'ready');

        await viewer.getByLabel('Company').fill('Analytical Engines');
        await viewer.getByRole('button', { name: 'Register' }).click();
        await waitFor('the waiting message', async () => (await state(viewer)) === 'pending');
        assert.equal(await viewer.locator('#waiting-title').textContent(), WAITING);
        assert.equal(await viewer.locator('#join-form').isVisible(), false);
        // The key is kept in the tab, never in the address.
        const kept = await viewer.evaluate((s) => JSON.parse(sessionStorage.getItem(`stagecast.registration.${s}`)), SLUG);
        assert.match(kept.key, /^[0-9a-f]{32}$/);
        assert.ok(!viewer.url().includes(kept.key));

        // Reopened in the same tab: still waiting, without a second registration.
        await viewer.reload();
        await waitFor('waiting again after a reload', async () => (await state(viewer)) === 'pending', 60000);
        assert.equal(await viewer.locator('#waiting-title').textContent(), WAITING);
    });

    step('the organiser approves it in the console; the viewer page opens by itself', async () => {
        await row(SLUG).getByRole('button', { name: 'Registrations' }).click();
        await waitFor('the registration listed', async () => (await registrationRow('Ada Lovelace').count()) === 1);
        assert.equal(await box().locator('#registration-rows tr').count(), 1);
        const ada = registrationRow('Ada Lovelace');
        assert.equal(await ada.getAttribute('data-state'), 'pending');
        const answers = await ada.locator('dl.answers').evaluate((dl) =>
            [...dl.children].map((c) => c.textContent));
        assert.deepEqual(answers, ['Company', 'Analytical Engines', 'Role', 'Engineering']);
        assert.equal(await box().getByRole('button', { name: 'Approve' }).isDisabled(), true);

        await box().getByLabel('Select Ada Lovelace').check();
        await box().getByRole('button', { name: 'Approve 1' }).click();
        await waitFor('approved in the console', async () => (await ada.getAttribute('data-state')) === 'approved');

        await waitFor('the viewer page', () => new URL(viewer.url()).pathname.endsWith('/view'), 60000);
        const hash = new URLSearchParams(new URL(viewer.url()).hash.slice(1));
        assert.equal(hash.get('event'), SLUG);
        assert.equal(hash.get('room'), SLUG);
        const claims = JSON.parse(Buffer.from(hash.get('token').split('.')[1], 'base64url').toString());
        assert.equal(claims.name, 'Ada Lovelace');
        assert.equal(claims.role, 'viewer');
        await waitFor('the viewer waiting for the presenter', async () => (await state(viewer)) === 'waiting', 60000);
    });

    step('a rejected registrant is told so', async () => {
        const other = await openWatchPage('rejected viewer');
        await other.getByLabel('Your name').fill('Mallory');
        await other.getByLabel('Company').fill('Eavesdrop Ltd');
        await other.getByRole('button', { name: 'Register' }).click();
        await waitFor('waiting', async () => (await state(other)) === 'pending');

        await box().getByRole('button', { name: 'Refresh' }).click();
        await waitFor('the second registration listed', async () => (await registrationRow('Mallory').count()) === 1);
        assert.match(await box().locator('#registrations-summary').textContent(), /2 registrations: 1 pending, 1 approved, 0 rejected/);
        await box().getByLabel('Select Mallory').check();
        await box().getByRole('button', { name: 'Reject 1' }).click();   // the confirmation is accepted
        await waitFor('rejected in the console', async () =>
            (await registrationRow('Mallory').getAttribute('data-state')) === 'rejected');

        await waitFor('the refusal on the watch page', async () => (await state(other)) === 'rejected', 60000);
        assert.equal(await other.locator('#waiting-title').textContent(), 'Your registration was declined');
        assert.equal(new URL(other.url()).pathname, `/e/${SLUG}`);
        await other.context().close();
    });

    step('the registrations are saved as CSV, the token in a header only', async () => {
        const [download] = await Promise.all([
            organiser.waitForEvent('download'),
            box().getByRole('button', { name: 'Download CSV' }).click(),
        ]);
        assert.equal(download.suggestedFilename(), `${SLUG}-registrations.csv`);
        const csv = readFileSync(await download.path(), 'utf8').trim().split('\n');
        assert.equal(csv[0], '"id","state","name","registered_at","Company","Role"');
        assert.equal(csv.length, 3);
        assert.ok(csv.some((l) => l.includes('"approved","Ada Lovelace"') && l.endsWith('"Analytical Engines","Engineering"')), csv.join('\n'));
        assert.ok(apiUrls.some((u) => u.endsWith('/registrations?format=csv')));
        assert.deepEqual(apiUrls.filter((u) => u.includes(admin) || /token=/.test(u)), []);
    });

    step('the presenter goes live from the console link; the approved viewer decodes', async () => {
        await row(SLUG).getByRole('button', { name: 'Presenter link' }).click();
        const link = organiser.locator('#presenter-link');
        await waitFor('the presenter link', () => link.isVisible());
        presenterUrl = await link.getByLabel('Presenter link').inputValue();
        // A co-host link from the same box, with its own name.
        await link.getByLabel('Role').selectOption('cohost');
        await link.getByLabel('Their name').fill('Maria');
        await link.getByRole('button', { name: 'Issue link' }).click();
        await waitFor('the co-host link', async () => (await link.getByLabel('Co-host link').count()) === 1);
        const cohost = new URL(await link.getByLabel('Co-host link').inputValue());
        const claims = JSON.parse(Buffer.from(new URLSearchParams(cohost.hash.slice(1)).get('token').split('.')[1], 'base64url').toString());
        assert.deepEqual([cohost.pathname, claims.role, claims.name, claims.room], ['/presenter.html', 'cohost', 'Maria', SLUG]);
        assert.match(await link.locator('#presenter-link-note').textContent(), /as “Maria”.*join the stage as a co-host/);
        const presenter = await newPage('presenter');
        await presenter.goto(presenterUrl);
        await goLive(presenter);
        const start = await waitFor('the viewer decoding', async () => {
            const n = await framesDecoded(viewer);
            return n > 0 ? n : null;
        }, 90000);
        await waitFor('more frames decoded', async () => (await framesDecoded(viewer)) >= start + 30, 90000);
        await waitFor('the viewer page live', async () => (await state(viewer)) === 'live', 60000);
    });
});
