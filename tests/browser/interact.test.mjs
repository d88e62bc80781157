// The interaction UI on the presenter and viewer pages, driven the way
// people use it (clicks and typing) and checked by what they read on the
// page: Q&A, polls and quizzes, check-in and lottery, the pinned
// announcement, bullet comments, and moderation (pre-approval, mute).
// One server and one room; the tests run in order and each opens its own
// pages.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform, texts, waitFor, waitForText } from './harness.mjs';

async function ready(page) {
    await waitFor('the interaction panel', () => page.isVisible('#interact'));
    await waitFor('joined', () => page.evaluate(() => !!window.stagecast?.signaling?.isJoined));
}

async function tab(page, name) {
    await page.getByRole('tab', { name, exact: true }).click();
}

async function closeAll(...pages) {
    for (const p of pages) await p.context().close();
}

describe('interactions on the pages', { timeout: 600000 }, () => {
    const platform = new Platform('interact-test');
    before(async () => { await platform.start(); });
    after(async () => {
        const exit = await platform.stop();
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
        assert.deepEqual(platform.pageErrors, []);
    });

    test('Q&A: ask, upvote, sorted on the host page, answered for everyone', async () => {
        const host = await platform.open('presenter.html', 'presenter', 'Host');
        const ann = await platform.open('viewer.html', 'viewer', 'Ann');
        const bob = await platform.open('viewer.html', 'viewer', 'Bob');
        for (const p of [host, ann, bob]) await ready(p);
        await tab(ann, 'Q&A');
        await ann.fill('#qa-input', 'When are the slides <i>shared</i>?');
        await ann.click('#qa-form button[type=submit]');
        await waitForText(ann, '.qa-status', 'Question sent');
        await ann.fill('#qa-input', 'Is there a recording?');
        await ann.check('#qa-anonymous');
        await ann.click('#qa-form button[type=submit]');

        await tab(bob, 'Q&A');
        await waitForText(bob, '#qa-list li', 'Is there a recording?');
        await bob.locator('#qa-list li', { hasText: 'Is there a recording?' })
            .getByRole('button', { name: /Upvote/ }).click();
        await waitForText(bob, '#qa-list li', '▲ Voted', 'the vote button says voted');

        // The host sees the voted question first, asked anonymously.
        await tab(host, 'Q&A');
        const order = await waitFor('the voted question on top of the host list', async () => {
            const items = await texts(host, '#qa-list li .q-text');
            return items.length === 2 && items[0] === 'Is there a recording?' ? items : null;
        });
        assert.deepEqual(order, ['Is there a recording?', 'When are the slides <i>shared</i>?']);
        const top = host.locator('#qa-list li').first();
        assert.equal((await top.locator('.q-who').textContent()).trim(), 'Anonymous');
        assert.equal((await top.locator('.q-votes').textContent()).trim(), '1 vote');
        assert.equal(await host.$$eval('#qa-list i', (els) => els.length), 0, 'markup stayed text');

        await top.locator('.q-answer-input').fill('Yes, tomorrow on the portal.');
        await top.getByRole('button', { name: 'Send answer' }).click();
        await host.locator('#qa-list li', { hasText: 'slides' }).getByRole('button', { name: 'Mark answered' }).click();

        for (const p of [ann, bob]) {
            const answer = await waitForText(p, '#qa-list li', 'Yes, tomorrow on the portal.');
            assert.match(answer, /Answer by Host: Yes, tomorrow on the portal\./);
            await waitForText(p, '#qa-list li.answered', 'slides', 'the other question marked answered');
            const answered = await texts(p, '#qa-list li.answered .q-answer');
            assert.ok(answered.includes('Answered by Host'), JSON.stringify(answered));
        }
        await closeAll(host, ann, bob);
    });

    test('a quiz: created and opened by the host, two votes, live bars, correct answer at close', async () => {
        const host = await platform.open('presenter.html', 'presenter', 'Host');
        const ann = await platform.open('viewer.html', 'viewer', 'Ann');
        const bob = await platform.open('viewer.html', 'viewer', 'Bob');
        for (const p of [host, ann, bob]) await ready(p);

        await tab(host, 'Polls');
        await host.fill('#poll-question', 'Which codec do OBS users send?');
        await host.getByRole('textbox', { name: 'Option 1', exact: true }).fill('VP8');
        await host.getByRole('textbox', { name: 'Option 2', exact: true }).fill('H.264');
        await host.getByRole('button', { name: 'Add option' }).click();
        await host.getByRole('textbox', { name: 'Option 3', exact: true }).fill('AV1');
        await host.check('#poll-quiz');
        await host.getByRole('checkbox', { name: 'Option 2 is correct' }).check();
        await host.getByRole('button', { name: 'Create poll' }).click();
        await waitForText(host, '#poll-list .poll', 'open', 'the poll open on the host page');

        // Each viewer votes through the ballot; before voting no results show.
        const votes = [[ann, 'H.264'], [bob, 'VP8']];
        for (const [p, choice] of votes) {
            await tab(p, 'Polls');
            const poll = p.locator('#poll-list .poll', { hasText: 'Which codec' });
            await waitFor('the ballot', () => poll.locator('.ballot').isVisible());
            assert.equal(await poll.locator('.poll-results li').count(), 0, 'no results before voting');
            await poll.getByLabel(choice, { exact: true }).check();
            await poll.getByRole('button', { name: 'Vote' }).click();
            await waitForText(p, '#poll-list .poll-verdict', 'Thanks for voting');
        }
        // The host's bars count one vote each for VP8 and H.264, none for AV1.
        const bars = await waitFor('both votes on the host bars', async () => {
            const t = await texts(host, '#poll-list .poll .poll-results li');
            return t.length === 3 && t[0].includes('1 (50 %)') && t[1].includes('1 (50 %)') ? t : null;
        });
        assert.match(bars[2], /^AV1 0 \(0 %\)/);
        assert.match(bars[1], /✓ correct/, 'the host sees the correct option');
        // A voter sees the live results too, without the answer yet.
        const annBars = await waitFor('live results on a voter page', async () => {
            const t = await texts(ann, '#poll-list .poll .poll-results li');
            return t.length === 3 && t[0].includes('1 (50 %)') ? t : null;
        });
        assert.ok(!annBars.some((t) => t.includes('correct')), 'the answer stays hidden while open');

        await host.locator('#poll-list .poll', { hasText: 'Which codec' }).getByRole('button', { name: /^Close poll/ }).click();
        assert.match(await waitForText(ann, '#poll-list .poll-verdict', 'Correct answer'),
            /You got it right! Correct answer: H\.264/);
        assert.match(await waitForText(bob, '#poll-list .poll-verdict', 'Correct answer'),
            /Not quite\. Correct answer: H\.264/);
        const closedBars = await texts(bob, '#poll-list .poll .poll-results li');
        assert.match(closedBars[1], /H\.264 1 \(50 %\) ✓ correct/);
        // The quiz's close sends the leaderboard: Ann has the only point.
        const board = await waitForText(bob, '#quiz-scores li', 'Ann');
        assert.match(board, /Ann 1 point/);
        await closeAll(host, ann, bob);
    });

    test('check-in through the prompt, then a lottery among the checked-in picks that viewer', async () => {
        const host = await platform.open('presenter.html', 'presenter', 'Host');
        const cleo = await platform.open('viewer.html', 'viewer', 'Cleo');
        const dan = await platform.open('viewer.html', 'viewer', 'Dan');
        for (const p of [host, cleo, dan]) await ready(p);

        await tab(host, 'Check-in');
        await host.fill('#checkin-duration', '120');
        await host.getByRole('button', { name: 'Open check-in' }).click();
        await waitForText(host, '#checkin-summary', 'open');

        await waitFor('the check-in prompt', () => cleo.isVisible('#checkin-button'));
        const left = await cleo.textContent('#checkin-countdown');
        assert.match(left, /^\d+ s left$/);
        assert.ok(Number.parseInt(left, 10) <= 120 && Number.parseInt(left, 10) > 0, left);
        await cleo.click('#checkin-button');
        await waitForText(cleo, '#checkin-state', 'You are checked in');
        assert.equal(await cleo.isVisible('#checkin-button'), false);
        assert.ok(await dan.isVisible('#checkin-button'), 'Dan has not checked in');

        await waitForText(host, '#checkin-count', '1', 'the host count');
        await waitForText(host, '#checkin-list li', 'Cleo', 'Cleo on the host list');
        assert.equal((await texts(host, '#checkin-list li')).length, 1);

        await host.getByRole('button', { name: 'Close check-in' }).click();
        await waitForText(dan, '#checkin-prompt', 'Check-in closed');
        await waitForText(dan, '#checkin-state', 'You did not check in');

        await tab(host, 'Lottery');
        await host.selectOption('#lottery-among', 'checked_in');
        await host.fill('#lottery-prize', 'A Stagecast mug');
        await host.getByRole('button', { name: 'Draw' }).click();
        await waitForText(host, '#lottery-results li', 'Winners: Cleo');

        await waitFor('the lottery result on the winner page', () => cleo.isVisible('#lottery-notice'));
        assert.equal((await cleo.textContent('#lottery-notice .notice-title')).trim(), 'Lottery: A Stagecast mug');
        assert.equal((await cleo.textContent('#lottery-notice .lottery-mine')).trim(), '🎉 You won!');
        assert.ok(await cleo.$eval('#lottery-notice', (e) => e.classList.contains('won')));
        await waitForText(dan, '#lottery-notice', 'Winners: Cleo');
        assert.equal((await dan.textContent('#lottery-notice .lottery-mine')).trim(), 'Not this time.');

        // The export the host's button downloads lists Cleo.
        const [download] = await Promise.all([
            host.waitForEvent('download'),
            (async () => { await tab(host, 'Check-in'); await host.getByRole('button', { name: 'Download CSV' }).click(); })(),
        ]);
        const path = await download.path();
        const { readFileSync } = await import('node:fs');
        const csv = readFileSync(path, 'utf8').trim().split('\n');
        assert.equal(csv[0], 'checkin,user_id,name,ts,media_ms');
        assert.equal(csv.length, 2, csv.join('\n'));
        assert.match(csv[1], /,"?Cleo"?,/);
        await closeAll(host, cleo, dan);
    });

    test('announcement set and cleared; bullet comments fly over another viewer; recording switch', async () => {
        const host = await platform.open('presenter.html', 'presenter', 'Host');
        const ann = await platform.open('viewer.html', 'viewer', 'Ann');
        const bob = await platform.open('viewer.html', 'viewer', 'Bob');
        for (const p of [host, ann, bob]) await ready(p);

        await tab(host, 'Announce');
        await host.fill('#announce-input', 'Break until 14:30 <b>☕</b>');
        await host.getByRole('button', { name: 'Pin announcement' }).click();
        await waitFor('the banner', () => ann.isVisible('#announcement'));
        assert.equal(await ann.textContent('#announcement-text'), 'Break until 14:30 <b>☕</b>');
        assert.equal(await ann.$$eval('#announcement b', (els) => els.length), 0, 'markup stayed text');
        // A viewer who arrives later sees it too.
        const late = await platform.open('viewer.html', 'viewer', 'Late');
        await waitFor('the banner on a later viewer', () => late.isVisible('#announcement'));
        await host.getByRole('button', { name: 'Clear announcement' }).click();
        for (const p of [ann, late]) {
            await waitFor('the banner gone', async () => !(await p.isVisible('#announcement')));
        }

        await ann.fill('#danmaku-input', '666 好看');
        await ann.selectOption('#danmaku-color', '#ffd43b');
        await ann.click('#danmaku-form button[type=submit]');
        const flying = await waitFor('the comment over Bob\'s stage', () => bob.evaluate(() => {
            const d = [...document.querySelectorAll('#stage #danmaku-layer .danmaku')].find((e) => e.textContent === '666 好看');
            return d ? { color: getComputedStyle(d).color, visible: d.getClientRects().length > 0 } : null;
        }), 30000, 100);
        assert.deepEqual(flying, { color: 'rgb(255, 212, 59)', visible: true });
        // Hidden by the toggle, new ones do not show.
        await bob.uncheck('#show-danmaku');
        await ann.fill('#danmaku-input', 'second comment');
        await ann.click('#danmaku-form button[type=submit]');
        await waitFor('the comment on the sender overlay', () => ann.evaluate(() =>
            [...document.querySelectorAll('#danmaku-layer .danmaku')].some((e) => e.textContent === 'second comment')), 30000, 100);
        assert.equal(await bob.isVisible('#danmaku-layer'), false);
        assert.equal(await bob.$$eval('#danmaku-layer .danmaku', (els) => els.filter((e) => e.textContent === 'second comment').length), 0);

        // Likes: two clicks, the total reaches both pages.
        await ann.click('#like-button');
        await ann.click('#like-button');
        await waitForText(bob, '#likes-total', '2', 'the likes total on another viewer');
        await waitForText(host, '#likes-total', '2', 'the likes total on the host page');

        // The recording switch follows the server's `recording` state.
        assert.equal((await host.textContent('#record-state')).trim(), 'Not recording');
        await host.getByRole('button', { name: 'Start recording' }).click();
        await waitForText(host, '#record-state', '● Recording');
        await host.getByRole('button', { name: 'Stop recording' }).click();
        await waitForText(host, '#record-state', 'Not recording');
        await closeAll(host, ann, bob, late);
    });

    test('an assistant (viewer token with moderate) gets the host tools on the viewer page', async () => {
        const assistantToken = await platform.tokenWithPerms('viewer', 'Asst', ['subscribe', 'chat', 'moderate']);
        const asst = await platform.openWithToken('viewer.html', assistantToken, 'Asst');
        const viewer = await platform.open('viewer.html', 'viewer', 'Eve');
        for (const p of [asst, viewer]) await ready(p);
        for (const name of ['Lottery', 'Check-in', 'Announce', 'Moderation']) {
            assert.ok(await asst.getByRole('tab', { name, exact: true }).isVisible(), `${name} tab for the assistant`);
            assert.equal(await viewer.getByRole('tab', { name, exact: true }).isVisible(), false, `no ${name} tab for a viewer`);
        }
        await tab(asst, 'Announce');
        await asst.fill('#announce-input', 'Assistant here');
        await asst.getByRole('button', { name: 'Pin announcement' }).click();
        await waitForText(viewer, '#announcement-text', 'Assistant here');
        await asst.getByRole('button', { name: 'Clear announcement' }).click();
        await waitFor('the banner gone', async () => !(await viewer.isVisible('#announcement')));
        await closeAll(asst, viewer);
    });

    test('moderation: a held message approved by the host; a muted viewer is told and refused', async () => {
        const host = await platform.open('presenter.html', 'presenter', 'Host');
        const fay = await platform.open('viewer.html', 'viewer', 'Fay');
        const gus = await platform.open('viewer.html', 'viewer', 'Gus');
        for (const p of [host, fay, gus]) await ready(p);

        await tab(host, 'Moderation');
        await host.check('#mod-preapprove');
        await waitForText(fay, '#chat-rules', 'after a moderator approves', 'the rule shown to viewers');

        await fay.fill('#chat-input', 'Please approve me');
        await fay.click('#chat-form button');
        await waitForText(fay, '.chat-status', 'held', 'the held notice');
        assert.ok(!(await texts(gus, '#chat-list li')).some((t) => t.includes('Please approve me')), 'not shown before approval');

        const held = host.locator('#review-list li', { hasText: 'Please approve me' });
        await waitFor('the held message on the host page', () => held.isVisible());
        assert.match(await held.textContent(), /Fay/);
        await held.getByRole('button', { name: /^Approve/ }).click();
        await waitForText(gus, '#chat-list li', 'Fay Please approve me', 'the approved message on another viewer');
        await waitForText(fay, '.chat-status', 'approved your message');
        await waitFor('the queue empty', async () => (await host.locator('#review-list li').count()) === 0);
        await host.uncheck('#mod-preapprove');
        await waitFor('the rule gone', async () => !(await fay.isVisible('#chat-rules')));

        // Mute Fay from the audience list.
        await host.getByRole('button', { name: 'Refresh the audience list' }).click();
        const row = host.locator('#audience-list li', { hasText: 'Fay' });
        await waitFor('Fay in the audience list', () => row.isVisible());
        await row.getByRole('button', { name: 'Mute Fay' }).click();
        await waitFor('the muted notice', () => fay.isVisible('#muted-notice'));
        assert.match(await fay.textContent('#muted-notice'), /muted you/);
        await fay.fill('#chat-input', 'can anyone hear me');
        await fay.click('#chat-form button');
        await waitForText(fay, '.chat-status', 'You are muted');
        await waitFor('the row says muted', async () => (await row.textContent()).includes('muted'));
        await row.getByRole('button', { name: 'Unmute Fay' }).click();
        await waitFor('the notice gone', async () => !(await fay.isVisible('#muted-notice')));
        await fay.fill('#chat-input', 'back again');
        await fay.click('#chat-form button');
        await waitForText(gus, '#chat-list li', 'Fay back again');
        assert.ok(!(await texts(gus, '#chat-list li')).some((t) => t.includes('can anyone hear me')));

        // Kick: Gus's page says so and stops.
        await host.getByRole('button', { name: 'Refresh the audience list' }).click();
        await host.locator('#audience-list li', { hasText: 'Gus' }).getByRole('button', { name: 'Kick Gus' }).click();
        await waitForText(gus, '#error', 'removed you from the room');
        assert.equal(await gus.evaluate(() => document.body.dataset.state), 'error');
        await closeAll(host, fay, gus);
    });
});
