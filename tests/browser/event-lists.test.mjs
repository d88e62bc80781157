// An event's lists through the console's pages: a whitelist imported from
// a CSV file (a large one goes in parts of at most 60 KiB, a refused part
// is reported with its lines' numbers in the file; a small one with a
// header and a duplicate shows the counts), then a listed viewer is
// admitted on the watch page by their e-mail and an unlisted one refused;
// invite codes made in the console admit once and are then used up, and
// are saved as CSV without the token in any address.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Platform, failureTracking, localInputIn, openEventsTab, waitFor } from './harness.mjs';

describe('event lists: whitelist import, invite codes', { timeout: 240000 }, () => {
    const platform = new Platform('event-lists-test');
    const steps = failureTracking();
    const step = steps.step;
    const apiUrls = [];
    let dir;
    let admin;
    let organiser;
    let codes;

    const newPage = (label) => platform.newPage(label, { locale: 'en-US' });
    const row = (slug) => organiser.locator(`#event-rows tr[data-slug="${slug}"]`);
    const state = (page) => page.evaluate(() => document.body.dataset.state);
    const whitelist = () => organiser.locator('#whitelist-box');
    const invites = () => organiser.locator('#invites-box');

    async function createEvent(title, slug, condition) {
        await organiser.getByRole('button', { name: 'New event' }).click();
        const form = organiser.locator('#event-form');
        await form.getByLabel('Title').fill(title);
        await form.getByLabel('Slug').fill(slug);
        await form.getByLabel('Starts').fill(await localInputIn(organiser, 60));
        await form.getByLabel('Ends').fill(await localInputIn(organiser, 120));
        await form.getByLabel(condition).check();
        await form.getByRole('button', { name: 'Create event' }).click();
        await waitFor(`${slug} in the list`, async () => (await row(slug).count()) === 1);
    }

    async function importFile(name, text) {
        const file = join(dir, name);
        writeFileSync(file, text);
        await whitelist().getByLabel('CSV file').setInputFiles(file);
        await whitelist().getByRole('button', { name: 'Import' }).click();
        await waitFor(`${name} imported`, () => whitelist().evaluate((b) =>
            ['done', 'partial', 'failed'].includes(b.dataset.import)), 60000);
        return whitelist().evaluate((b) => ({ ...b.dataset }));
    }

    async function watchPage(slug, label) {
        const page = await newPage(label);
        await page.goto(`${platform.base}/e/${slug}`);
        await waitFor('the landing page', async () => (await state(page)) === 'ready', 60000);
        return page;
    }

    before(async () => {
        dir = mkdtempSync(join(tmpdir(), 'stagecast-lists-'));
        await platform.start();
        admin = await platform.adminToken();
        organiser = await newPage('organiser');
        organiser.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/')) apiUrls.push(r.url()); });
        await openEventsTab(organiser, platform.base, admin);
    });
    after(async () => {
        if (dir) rmSync(dir, { recursive: true, force: true });
        await platform.finish(steps.failed);
    });

    step('a large list goes in parts; a refused part is reported by its lines in the file', async () => {
        await createEvent('Staff meeting', 'staff-meeting', 'People on a list');
        await row('staff-meeting').getByRole('button', { name: 'Whitelist' }).click();
        await waitFor('the count', async () => (await whitelist().locator('#whitelist-count').textContent()) === 'The list is empty.');

        // 4,000 lines of 23 bytes: two parts.  Line 3,500, in the second,
        // has an unterminated quote: that part is refused whole.
        const lines = ['email'];
        for (let i = 1; i < 4000; i++) lines.push(`staff${String(i).padStart(5, '0')}@example.com`);
        lines[3499] = '"broken@example.com';
        let firstPart = 0;   // the lines that fit in the first part, the header included
        for (let bytes = 0; bytes + Buffer.byteLength(`${lines[firstPart]}\n`) <= 60 * 1024; firstPart++) {
            bytes += Buffer.byteLength(`${lines[firstPart]}\n`);
        }
        assert.ok(firstPart > 1000 && firstPart < 3500);
        const shown = await importFile('staff.csv', `${lines.join('\n')}\n`);
        assert.equal(shown.import, 'partial');
        assert.equal(Number(shown.added), firstPart - 1);
        assert.equal(Number(shown.entries), firstPart - 1);
        const refused = await whitelist().locator('#whitelist-rejected-list').textContent();
        assert.match(refused, new RegExp(`^Part 2 \\(lines ${(firstPart + 1).toLocaleString('en-US')}–4,000\\) was refused:`));
        assert.match(refused, /Line 3,500: an unterminated quote/);
        assert.match(await whitelist().locator('#whitelist-progress-text').textContent(), /^2 parts sent\.$/);
        assert.match(await whitelist().locator('#whitelist-result').textContent(), /1 of 2 parts refused/);

        // Clear (the confirmation is accepted).
        await whitelist().getByRole('button', { name: 'Clear the list' }).click();
        await waitFor('the list emptied', async () => (await whitelist().locator('#whitelist-count').textContent()) === 'The list is empty.');
    });

    step('a CSV with a header and a duplicate: the counts', async () => {
        const csv = 'email,name\nada@example.com,Ada\nBob@Example.com,Bob\n ada@example.com ,Ada again\n+1 (555) 010-2030,Carol\n';
        const shown = await importFile('guests.csv', csv);
        assert.equal(shown.import, 'done');
        assert.equal(shown.added, '3');
        assert.equal(shown.duplicates, '1');
        assert.equal(await whitelist().locator('#whitelist-result').textContent(),
            'Added 3 new entries; 1 duplicate (on the list already, or twice in the file).');
        await waitFor('the count', async () => (await whitelist().locator('#whitelist-count').textContent()) === '3 entries on the list.');
        assert.equal(await whitelist().locator('#whitelist-rejected').isVisible(), false);
    });

    step('a listed viewer is admitted by e-mail; an unlisted one is refused', async () => {
        const outsider = await watchPage('staff-meeting', 'outsider');
        assert.equal(await outsider.getByLabel('Your name').isVisible(), false);
        await outsider.getByLabel('Your e-mail, phone or staff number').fill('eve@example.com');
        await outsider.getByRole('button', { name: 'Watch' }).click();
        await waitFor('the refusal', () => outsider.locator('#join-error').isVisible());
        assert.match(await outsider.locator('#join-error').textContent(), /not on this event’s list/);
        assert.equal(new URL(outsider.url()).pathname, '/e/staff-meeting');
        await outsider.context().close();

        const bob = await watchPage('staff-meeting', 'bob');
        await bob.getByLabel('Your e-mail, phone or staff number').fill(' BOB@example.com');
        await bob.getByRole('button', { name: 'Watch' }).click();
        await waitFor('the viewer page', () => new URL(bob.url()).pathname.endsWith('/view'), 60000);
        const hash = new URLSearchParams(new URL(bob.url()).hash.slice(1));
        assert.equal(hash.get('event'), 'staff-meeting');
        await bob.context().close();
    });

    step('invite codes made in the console are shown and saved as CSV', async () => {
        await createEvent('Product preview', 'preview', 'With an invite code');
        await row('preview').getByRole('button', { name: 'Invite codes' }).click();
        await waitFor('the invite box', async () => (await invites().locator('#invites-summary').textContent()) === 'No codes yet.');
        // Only one list box at a time.
        assert.equal(await whitelist().isVisible(), false);
        await invites().getByLabel('Codes', { exact: true }).fill('2');
        await invites().getByLabel('Uses per code').fill('1');
        await invites().getByRole('button', { name: 'Generate' }).click();
        await waitFor('the new codes', () => invites().getByLabel('New codes').isVisible());
        codes = (await invites().getByLabel('New codes').inputValue()).split('\n');
        assert.equal(codes.length, 2);
        for (const c of codes) assert.match(c, /^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
        await waitFor('the codes listed', async () => (await invites().locator('#invite-rows tr').count()) === 2);
        assert.equal(await invites().locator('#invites-summary').textContent(), '2 codes: 0 used up, 2 uses left.');

        const [download] = await Promise.all([
            organiser.waitForEvent('download'),
            invites().getByRole('button', { name: 'Download CSV' }).click(),
        ]);
        assert.equal(download.suggestedFilename(), 'preview-invites.csv');
        const csv = readFileSync(await download.path(), 'utf8').trim().split('\n');
        assert.equal(csv[0], 'code,uses,used');
        assert.deepEqual(csv.slice(1).sort(), codes.map((c) => `${c.replaceAll('-', '')},1,0`).sort());
        assert.deepEqual(apiUrls.filter((u) => u.includes(admin) || /token=/.test(u)), []);
    });

    step('a code admits once (with the name the viewer gave), then it is used up', async () => {
        const grace = await watchPage('preview', 'grace');
        await grace.getByLabel('Your name (optional)').fill('Grace');
        await grace.getByLabel('Invite code').fill(codes[0].toLowerCase());
        await grace.getByRole('button', { name: 'Watch' }).click();
        await waitFor('the viewer page', () => new URL(grace.url()).pathname.endsWith('/view'), 60000);
        const token = new URLSearchParams(new URL(grace.url()).hash.slice(1)).get('token');
        assert.equal(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).name, 'Grace');
        await grace.context().close();

        const late = await watchPage('preview', 'late');
        await late.getByLabel('Invite code').fill(codes[0]);
        await late.getByRole('button', { name: 'Watch' }).click();
        await waitFor('the refusal', () => late.locator('#join-error').isVisible());
        assert.match(await late.locator('#join-error').textContent(), /used as many times as it allows/);
        assert.equal(new URL(late.url()).pathname, '/e/preview');
        await late.context().close();

        // The console shows it used.
        await row('preview').getByRole('button', { name: 'Invite codes' }).click();
        await waitFor('the code used in the console', async () =>
            (await invites().locator('#invites-summary').textContent()) === '2 codes: 1 used up, 1 use left.');
        assert.equal(await invites().locator(`#invite-rows tr[data-code="${codes[0].replaceAll('-', '')}"] td`).nth(1).textContent(), '1 of 1');
    });
});
