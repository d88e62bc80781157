// The chat panel on the pages: a viewer types a message, the presenter's
// page shows it; a viewer who comes later gets it from the history; markup
// in a message stays text.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform, waitFor } from './harness.mjs';

describe('chat on the pages', { timeout: 180000 }, () => {
    const platform = new Platform('chat-test');
    before(async () => { await platform.start(); });
    after(async () => {
        const exit = await platform.stop();
        assert.ok(exit && (exit.code === 0 || exit.signal === 'SIGTERM'), `server exit ${JSON.stringify(exit)}`);
        assert.deepEqual(platform.pageErrors, []);
    });

    test('a message reaches the presenter and later viewers', async () => {
        const presenter = await platform.open('presenter.html', 'presenter', 'Host');
        const ann = await platform.open('viewer.html', 'viewer', 'Ann');
        for (const page of [presenter, ann]) {
            await waitFor('the chat panel', () => page.isVisible('#chat'));
        }
        await ann.fill('#chat-input', 'Hello 大家好 <b>bold?</b>');
        await ann.click('#chat-form button');
        const seen = await waitFor('the message on the presenter page', async () => {
            const items = await presenter.$$eval('#chat-list li', (els) => els.map((e) => e.textContent));
            return items.find((t) => t.includes('Hello 大家好')) || null;
        });
        assert.equal(seen, 'Ann Hello 大家好 <b>bold?</b>');
        assert.equal(await presenter.$$eval('#chat-list b', (els) => els.length), 0, 'markup stayed text');
        assert.equal(await ann.inputValue('#chat-input'), '', 'the box is cleared after sending');
        // A viewer arriving later reads it in the history.
        const bob = await platform.open('viewer.html', 'viewer', 'Bob');
        await waitFor('the history on a later viewer', async () => {
            const items = await bob.$$eval('#chat-list li', (els) => els.map((e) => e.textContent));
            return items.includes('Ann Hello 大家好 <b>bold?</b>');
        });
    });
});
