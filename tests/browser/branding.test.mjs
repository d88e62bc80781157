// An event's branding through the pages: the watch page takes its tab name,
// logo, cover and background from the event; a viewer admitted to an event
// with the marquee sees their own name run across the video (as text, not
// in the way of clicks), under the event's tab name and logo; the console's
// form sets every branding key, shows a refused one at its input, and
// what it saved comes back after a reload; once the event is ended the
// watch page (reloaded) and the open viewer page show the organiser's end
// text, as text, and the end link.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Platform, failureTracking, localInputIn, openEventsTab, waitFor } from './harness.mjs';

const SLUG = 'acme-launch';
const TITLE = 'Acme launch';
const VIEWER = 'Ada <i>Lovelace</i>';
const BRANDING = {
    color: '#0a66c2',
    landing_text: 'Doors open ten minutes early.',
    logo_url: '/img/example-logo.svg',
    cover_url: '/img/example-cover.svg',
    background_url: '/img/example-background.svg',
    page_title: 'Acme · Launch day (live)',
    end_text: 'Thanks for watching <b>Acme</b>! <img src=x onerror="window.__pwned = 1">',
    end_link: '/index.html',
    marquee: true,
};

describe('events: branding on the watch page, the viewer page and the console', { timeout: 420000 }, () => {
    const platform = new Platform('branding-test');
    const steps = failureTracking();
    const step = steps.step;
    let admin;
    let eventId;
    let viewer;      // the watch page, then the viewer page

    const api = async (method, path, body) => {
        const res = await fetch(`${platform.base}${path}`, {
            method,
            headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
    };

    // An <img> of the page, once it has loaded: {src, alt, width}.
    const loadedImage = (page, selector, what) => waitFor(what, () => page.evaluate((sel) => {
        const img = document.querySelector(sel);
        if (!img || !img.complete || !img.naturalWidth) return null;
        return { src: new URL(img.src).pathname, alt: img.alt, width: img.naturalWidth };
    }, selector), 60000);

    before(async () => {
        await platform.start();
        admin = await platform.adminToken();
        const made = await api('POST', '/api/v1/events', {
            title: TITLE, slug: SLUG, starts_at: Math.floor(Date.now() / 1000) + 3600,
            watch: { type: 'public' }, branding: BRANDING,
        });
        assert.equal(made.status, 201, JSON.stringify(made.body));
        assert.deepEqual(made.body.branding, BRANDING);
        eventId = made.body.id;
    });
    after(() => platform.finish(steps.failed));

    step('the watch page wears the branding', async () => {
        viewer = await platform.newPage('viewer');
        await viewer.goto(`${platform.base}/e/${SLUG}`);
        await waitFor('the landing page', () => viewer.evaluate(() => document.body.dataset.state === 'ready'), 60000);
        assert.equal(await viewer.title(), BRANDING.page_title);
        const logo = await loadedImage(viewer, '.topbar img.brand-logo', 'the logo in the header');
        assert.deepEqual([logo.src, logo.alt], [BRANDING.logo_url, `Logo of ${TITLE}`]);
        const cover = await loadedImage(viewer, '#event img.watch-cover', 'the cover on the landing card');
        assert.deepEqual([cover.src, cover.alt], [BRANDING.cover_url, `Cover image of ${TITLE}`]);
        const background = await viewer.evaluate(() => ({
            property: document.body.style.getPropertyValue('--brand-background'),
            shown: getComputedStyle(document.body).backgroundImage,
        }));
        assert.match(background.property, /^url\("[^"]*example-background[^"]*"\)$/);
        assert.match(background.shown, /url\("[^"]*\/img\/example-background\.svg"\)/);
        assert.equal(await viewer.locator('#end').isVisible(), false);
        assert.equal(await viewer.getByRole('button', { name: 'Watch' }).isVisible(), true);
    });

    step('a viewer of the marquee event sees their name run across the video', async () => {
        await viewer.getByLabel('Your name (optional)').fill(VIEWER);
        await viewer.getByRole('button', { name: 'Watch' }).click();
        await waitFor('the viewer page', () => new URL(viewer.url()).pathname === `/e/${SLUG}/view`, 60000);
        await waitFor('the viewer waiting for the presenter', () => viewer.evaluate(() =>
            document.body.dataset.state === 'waiting'), 60000);
        await waitFor('the tab named by the event', async () => (await viewer.title()) === BRANDING.page_title, 60000);
        const logo = await loadedImage(viewer, '.topbar img.brand-logo', 'the logo in the viewer page\'s header');
        assert.equal(logo.src, BRANDING.logo_url);

        await waitFor('the marquee', () => viewer.locator('#stage .marquee').count(), 60000);
        const shown = await viewer.evaluate(() => {
            const layer = document.querySelector('#stage .marquee-layer');
            const item = layer.querySelector('.marquee');
            return {
                text: item.textContent, elements: item.children.length,
                hidden: layer.getAttribute('aria-hidden'),
                events: [getComputedStyle(layer).pointerEvents, getComputedStyle(item).pointerEvents],
            };
        });
        assert.deepEqual(shown, { text: VIEWER, elements: 0, hidden: 'true', events: ['none', 'none'] });

        // It moves: two different places, however slowly this machine draws.
        const place = () => viewer.evaluate(() => {
            const box = document.querySelector('#stage .marquee').getBoundingClientRect();
            return { x: Math.round(box.left), y: Math.round(box.top), w: box.width, h: box.height };
        });
        const first = await place();
        await waitFor('the marquee to move', async () => (await place()).x !== first.x, 60000);

        // A click where the name shows lands on what is under it.
        const hit = await waitFor('the name over the stage', () => viewer.evaluate(() => {
            const box = document.querySelector('#stage .marquee').getBoundingClientRect();
            const stage = document.querySelector('#stage').getBoundingClientRect();
            const x = box.left + box.width / 2;
            const y = box.top + box.height / 2;
            if (x <= stage.left || x >= Math.min(stage.right, innerWidth)
                || y <= stage.top || y >= Math.min(stage.bottom, innerHeight)) return null;
            const at = document.elementFromPoint(x, y);
            return { under: at ? at.closest('#stage') !== null : false, marquee: at ? !!at.closest('.marquee-layer') : null };
        }), 90000);
        assert.deepEqual(hit, { under: true, marquee: false }, 'the marquee must not take clicks');
    });

    step('the console sets every branding key, names a refused one, and keeps what it saved', async () => {
        const organiser = await platform.newPage('organiser');
        await openEventsTab(organiser, platform.base, admin);
        const form = organiser.locator('#event-form');
        const row = (slug) => organiser.locator(`#event-rows tr[data-slug="${slug}"]`);

        // The API's event fills the form.
        await row(SLUG).getByRole('button', { name: 'Edit' }).click();
        assert.equal(await form.getByLabel('Logo').inputValue(), BRANDING.logo_url);
        assert.equal(await form.getByLabel('End text').inputValue(), BRANDING.end_text);
        assert.equal(await form.getByLabel('Marquee').isChecked(), true);
        await form.getByRole('button', { name: 'Cancel' }).click();

        const values = {
            'Logo': '/img/example-cover.svg',
            'Cover image': 'https://cdn.example.com/covers/q4.png',
            'Background image': '/img/example-background.svg',
            'Browser tab name': 'Q4 <all-hands>',
            'End text': 'See you next quarter.\nSlides follow by mail.',
            'End link': 'https://intranet.example.com/q4',
        };
        await organiser.getByRole('button', { name: 'New event' }).click();
        await form.getByLabel('Title').fill('Q4 all-hands');
        await form.getByLabel('Slug').fill('q4-all-hands');
        await form.getByLabel('Starts').fill(await localInputIn(organiser, 120));
        await form.getByLabel('Ends').fill(await localInputIn(organiser, 180));
        for (const [label, value] of Object.entries(values)) await form.getByLabel(label).fill(value);
        await form.getByLabel('Marquee').check();

        // A URL the server refuses: its message at the logo's input.
        await form.getByLabel('Logo').fill('javascript:alert(1)');
        await form.getByRole('button', { name: 'Create event' }).click();
        await waitFor('the logo refused', async () =>
            (await form.getByLabel('Logo').getAttribute('aria-invalid')) === 'true', 60000);
        assert.match(await organiser.locator('#event-form-error').textContent(), /^Logo: .*logo_url/);
        assert.match(await organiser.locator('#ev-logo-error').textContent(), /logo_url must be/);
        assert.equal(await row('q4-all-hands').count(), 0);

        await form.getByLabel('Logo').fill(values.Logo);
        await form.getByRole('button', { name: 'Create event' }).click();
        await waitFor('the new event listed', async () => (await row('q4-all-hands').count()) === 1, 60000);

        // Reloaded, the form shows what was saved.
        await organiser.reload();
        await organiser.getByRole('tab', { name: 'Events' }).click();
        await waitFor('the events listed again', async () => (await row('q4-all-hands').count()) === 1, 60000);
        await row('q4-all-hands').getByRole('button', { name: 'Edit' }).click();
        for (const [label, value] of Object.entries(values)) {
            assert.equal(await form.getByLabel(label).inputValue(), value, label);
        }
        assert.equal(await form.getByLabel('Marquee').isChecked(), true);

        // Emptied and unticked: the keys go; the others stay.
        await form.getByLabel('End link').fill('');
        await form.getByLabel('Marquee').uncheck();
        await form.getByRole('button', { name: 'Save changes' }).click();
        await waitFor('the form closed', async () => !(await form.isVisible()), 60000);
        const { body: events } = await api('GET', '/api/v1/events');
        const saved = events.events.find((e) => e.slug === 'q4-all-hands').branding;
        assert.deepEqual(saved, {
            logo_url: values.Logo, cover_url: values['Cover image'], background_url: values['Background image'],
            page_title: values['Browser tab name'], end_text: values['End text'], marquee: false,
        });
        await organiser.context().close();
    });

    step('the console\'s default branding dresses an event that has none', async () => {
        const organiser = await platform.newPage('organiser (default branding)');
        await openEventsTab(organiser, platform.base, admin);
        const box = organiser.locator('#default-branding');
        await box.locator('summary').click();
        const form = organiser.locator('#default-branding-form');
        await waitFor('the default branding loaded', async () =>
            (await form.getAttribute('data-state')) === 'ready');
        // A refused value is named at its input; nothing is saved.
        await form.getByLabel('Logo URL').fill('javascript:alert(1)');
        await form.getByRole('button', { name: 'Save default branding' }).click();
        await waitFor('the logo refused', async () =>
            (await form.getByLabel('Logo URL').getAttribute('aria-invalid')) === 'true');
        assert.match(await organiser.locator('#default-branding-error').textContent(), /logo_url/);
        assert.equal((await api('GET', '/api/v1/branding')).body.branding.logo_url, undefined);
        await form.getByLabel('Colour (#rrggbb)').fill('#336699');
        await form.getByLabel('Logo URL').fill('/img/example-logo.svg');
        await form.getByLabel('Page title').fill('ACME events');
        await form.getByRole('button', { name: 'Save default branding' }).click();
        await waitFor('saved', async () => (await form.getAttribute('data-state')) === 'ready'
            && (await api('GET', '/api/v1/branding')).body.branding.page_title === 'ACME events');

        const made = await api('POST', '/api/v1/events', {
            title: 'Unbranded', slug: 'unbranded', starts_at: Math.floor(Date.now() / 1000) + 3600,
            watch: { type: 'public' },
        });
        assert.equal(made.status, 201, JSON.stringify(made.body));
        const page = await platform.newPage('visitor of the unbranded event');
        await page.goto(`${platform.base}/e/unbranded`);
        await waitFor('the landing page', () => page.evaluate(() => document.body.dataset.state === 'ready'), 60000);
        assert.equal(await page.title(), 'ACME events');
        const logo = await loadedImage(page, '.topbar img.brand-logo', 'the default logo');
        assert.equal(logo.src, '/img/example-logo.svg');
        assert.equal(await page.evaluate(() => document.body.style.getPropertyValue('--brand')), '#336699');
        // The branded event keeps its own.
        const own = await platform.newPage('visitor of the branded event');
        await own.goto(`${platform.base}/e/${SLUG}`);
        await waitFor('its landing page', () => own.evaluate(() => document.body.dataset.state === 'ready'), 60000);
        assert.equal(await own.title(), BRANDING.page_title);
        await page.context().close();
        await own.context().close();
        // Emptied fields remove the default again.
        for (const label of ['Colour (#rrggbb)', 'Logo URL', 'Page title']) await form.getByLabel(label).fill('');
        await form.getByRole('button', { name: 'Save default branding' }).click();
        await waitFor('cleared', async () =>
            Object.keys((await api('GET', '/api/v1/branding')).body.branding).length === 0);
        await organiser.context().close();
    });

    step('ended: the viewer page and the watch page show the end text and link', async () => {
        const ended = await api('PATCH', `/api/v1/events/${eventId}`, { state: 'ended' });
        assert.equal(ended.status, 200, JSON.stringify(ended.body));

        // The open viewer page learns it by asking the landing again.
        await waitFor('the viewer page to end', () => viewer.evaluate(() =>
            document.body.dataset.state === 'ended'), 120000);
        const end = await viewer.evaluate(() => ({
            text: document.querySelector('#event-end-text').textContent,
            href: document.querySelector('#event-end-link').getAttribute('href'),
            rel: document.querySelector('#event-end-link').rel,
            stage: document.querySelector('#viewer-layout').hidden,
            marquee: document.querySelectorAll('.marquee').length,
            images: document.querySelectorAll('#event-end img').length,
        }));
        assert.deepEqual(end, { text: BRANDING.end_text, href: BRANDING.end_link, rel: 'noopener', stage: true,
            marquee: 0, images: 0 });
        assert.equal(await viewer.getByRole('heading', { name: 'This event has ended' }).isVisible(), true);

        const late = await platform.newPage('after the end');
        await late.goto(`${platform.base}/e/${SLUG}`);
        await waitFor('the landing page', () => late.evaluate(() => document.body.dataset.state === 'ready'), 60000);
        await waitFor('the end page', () => late.locator('#end').isVisible(), 60000);
        assert.equal(await late.locator('#end-text').textContent(), BRANDING.end_text);
        assert.equal(await late.locator('#end img').count(), 0);
        const link = late.getByRole('link', { name: 'Continue' });
        assert.equal(await link.getAttribute('href'), BRANDING.end_link);
        assert.equal(await link.getAttribute('rel'), 'noopener');
        assert.equal(await late.getByRole('button', { name: 'Watch' }).count(), 0);
        assert.equal(await late.locator('#countdown').textContent(), 'This event has ended');
        assert.equal(await late.evaluate(() => window.__pwned ?? null), null);
        assert.equal(await viewer.evaluate(() => window.__pwned ?? null), null);

        // Reloaded, the page still says so.
        await late.reload();
        await waitFor('the end page again', () => late.locator('#end').isVisible(), 60000);
        assert.equal(await late.title(), BRANDING.page_title);
    });
});
