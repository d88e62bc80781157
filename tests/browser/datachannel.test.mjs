// The pages' interactions over the WebRTC data channel (js/datachannel.js,
// docs/protocol.md "Data channels"): a viewer's chat line and poll vote
// travel on the channel (the server counts dc_messages_rx), every page
// shows each message once although the server sends it to the page's
// WebSocket and to its channel, and a page without a channel (#dc=0) or
// whose channel closed keeps working over /ws.  One server and one room;
// the tests run in order.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform, goLive, texts, waitFor, waitForText } from './harness.mjs';

const transport = (page) => page.evaluate(() => window.stagecast?.signaling?.interactionTransport);
const counts = (page) => page.evaluate(() => ({ ...(window.stagecast.signaling.channel?.counts || {}) }));

async function onChannel(page, what) {
    await waitFor(`${what}: interactions on the data channel`, async () => (await transport(page)) === 'datachannel', 60000);
}

async function ready(page) {
    await waitFor('the interaction panel', () => page.isVisible('#interact'));
    await waitFor('joined', () => page.evaluate(() => !!window.stagecast?.signaling?.isJoined));
}

// How many chat lines read exactly `text` after the sender's name.
async function shown(page, text) {
    const items = await texts(page, '#chat-list li');
    return items.filter((t) => t.endsWith(` ${text}`)).length;
}

async function say(page, text) {
    await page.fill('#chat-input', text);
    await page.click('#chat-form button');
    await waitFor('the chat box cleared after sending', async () => (await page.inputValue('#chat-input')) === '');
}

// `text` shows on `page`, and stays single once the second copy (the other
// transport's) reached the page: its duplicate counter moved past `before`.
async function shownOnce(page, text, before, what) {
    await waitFor(`"${text}" on ${what}`, async () => (await shown(page, text)) >= 1);
    await waitFor(`the other transport's copy of "${text}" on ${what}`,
        async () => (await counts(page)).duplicates > before);
    assert.equal(await shown(page, text), 1, `"${text}" shown once on ${what}`);
}

async function tab(page, name) {
    await page.getByRole('tab', { name, exact: true }).click();
}

describe('interactions over the data channel', { timeout: 600000 }, () => {
    const platform = new Platform('dc-test');
    let host;
    let ann;
    let bob;
    before(async () => {
        await platform.start();
        host = await platform.open('presenter.html', 'presenter', 'Host');
        ann = await platform.open('viewer.html', 'viewer', 'Ann');
        bob = await platform.open('viewer.html', 'viewer', 'Bob');
        for (const p of [host, ann, bob]) await ready(p);
        await goLive(host);
    });
    after(async () => {
        const exit = await platform.stop();
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
        assert.deepEqual(platform.pageErrors, []);
    });

    test('a chat line goes over the channel and shows once on every page', async () => {
        await onChannel(host, 'the presenter');
        await onChannel(ann, 'Ann');
        await onChannel(bob, 'Bob');
        // The offer carried the data section and the answer accepted it.
        const sdp = await ann.evaluate(() => window.stagecast.pc.remoteDescription.sdp);
        assert.match(sdp, /m=application [1-9]\d* UDP\/DTLS\/SCTP webrtc-datachannel/);

        const rx0 = (await platform.stats()).dc_messages_rx;
        const ann0 = await counts(ann);
        const dup0 = { host: (await counts(host)).duplicates, bob: (await counts(bob)).duplicates };
        await say(ann, 'over the channel 你好');
        const ann1 = await counts(ann);
        assert.ok(ann1.sent > ann0.sent && ann1.replies > ann0.replies, 'the chat and its reply used the channel');
        const rx1 = await waitFor('dc_messages_rx rising', async () => {
            const rx = (await platform.stats()).dc_messages_rx;
            return rx > rx0 ? rx : null;
        });
        assert.ok(rx1 > rx0);

        await shownOnce(bob, 'over the channel 你好', dup0.bob, 'another viewer');
        await shownOnce(host, 'over the channel 你好', dup0.host, 'the presenter page');
        assert.equal(await shown(ann, 'over the channel 你好'), 1, 'shown once on the sender page');
        assert.match((await texts(host, '#chat-list li')).find((t) => t.includes('over the channel')),
            /^Ann over the channel 你好$/);
    });

    test('a poll vote through the ballot goes over the channel and counts on the presenter page', async () => {
        await tab(host, 'Polls');
        await host.fill('#poll-question', 'Data channel or WebSocket?');
        await host.getByRole('textbox', { name: 'Option 1', exact: true }).fill('Channel');
        await host.getByRole('textbox', { name: 'Option 2', exact: true }).fill('Socket');
        await host.getByRole('button', { name: 'Create poll' }).click();
        await waitForText(host, '#poll-list .poll', 'open', 'the poll open on the host page');

        await tab(ann, 'Polls');
        const poll = ann.locator('#poll-list .poll', { hasText: 'Data channel or WebSocket?' });
        await waitFor('the ballot', () => poll.locator('.ballot').isVisible());
        const rx0 = (await platform.stats()).dc_messages_rx;
        const sent0 = (await counts(ann)).sent;
        await poll.getByLabel('Channel', { exact: true }).check();
        await poll.getByRole('button', { name: 'Vote' }).click();
        await waitForText(ann, '#poll-list .poll-verdict', 'Thanks for voting');
        assert.ok((await counts(ann)).sent > sent0, 'the vote went over the channel');
        assert.equal(await transport(ann), 'datachannel');
        await waitFor('dc_messages_rx rising', async () => (await platform.stats()).dc_messages_rx > rx0);
        const bars = await waitFor('the vote on the host bars', async () => {
            const t = await texts(host, '#poll-list .poll .poll-results li');
            return t.length === 2 && t[0].includes('1 (100 %)') ? t : null;
        });
        assert.match(bars[1], /^Socket 0 \(0 %\)/);
    });

    test('with #dc=0 the page has no channel and everything works over /ws', async () => {
        const cat = await platform.open('viewer.html', 'viewer', 'Cat', 'dc=0');
        await ready(cat);
        await waitFor('Cat subscribed', () => cat.evaluate(() => !!window.stagecast.pc?.remoteDescription));
        const sdp = await cat.evaluate(() => window.stagecast.pc.localDescription.sdp);
        assert.doesNotMatch(sdp, /m=application/, 'no data section in the offer');
        assert.equal(await transport(cat), 'websocket');

        // Cat's line reaches the pages on the channel, once.
        const dup0 = { host: (await counts(host)).duplicates, ann: (await counts(ann)).duplicates };
        await say(cat, 'plain websocket');
        assert.equal((await counts(cat)).sent ?? 0, 0, 'nothing went over a channel');
        await shownOnce(ann, 'plain websocket', dup0.ann, 'a viewer on the channel');
        await shownOnce(host, 'plain websocket', dup0.host, 'the presenter page');
        // And theirs reach Cat, once (Cat has one transport).
        await say(bob, 'to the websocket page');
        await waitFor('Bob\'s line on Cat\'s page', async () => (await shown(cat, 'to the websocket page')) === 1);
        // Cat votes through the ballot over /ws; the host counts it.
        await tab(cat, 'Polls');
        const poll = cat.locator('#poll-list .poll', { hasText: 'Data channel or WebSocket?' });
        await waitFor('the ballot', () => poll.locator('.ballot').isVisible());
        await poll.getByLabel('Socket', { exact: true }).check();
        await poll.getByRole('button', { name: 'Vote' }).click();
        await waitForText(cat, '#poll-list .poll-verdict', 'Thanks for voting');
        await waitFor('Cat\'s vote on the host bars', async () => {
            const t = await texts(host, '#poll-list .poll .poll-results li');
            return t.length === 2 && t[0].includes('1 (50 %)') && t[1].includes('1 (50 %)');
        });
        assert.equal(await shown(cat, 'to the websocket page'), 1);
        await cat.context().close();
    });

    test('when the channel closes the page falls back to /ws and nothing shows twice', async () => {
        await tab(ann, 'Chat');
        await ann.evaluate(() => window.stagecast.signaling.channel.dc.close());
        await waitFor('Ann back on the WebSocket', async () => (await transport(ann)) === 'websocket');
        const sent0 = (await counts(ann)).sent;
        const dup0 = (await counts(host)).duplicates;
        await say(ann, 'after the channel closed');
        assert.equal((await counts(ann)).sent, sent0, 'the line went over /ws');
        await shownOnce(host, 'after the channel closed', dup0, 'the presenter page');
        // Bob's line still reaches Ann, once, now from her WebSocket.
        await say(bob, 'to Ann on the socket');
        await waitFor('Bob\'s line on Ann\'s page', async () => (await shown(ann, 'to Ann on the socket')) === 1);
        for (const text of ['over the channel 你好', 'plain websocket']) {
            assert.equal(await shown(ann, text), 1, `"${text}" still once on Ann's page`);
        }
    });
});
