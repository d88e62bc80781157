// Breakout groups end to end (docs/protocol.md, "Breakout groups"): a
// trainer on the presenter page, live, and four participants on viewer
// pages (each its own browser context and user id).  Through the trainer's
// panel (clicks, no raw messages) the trainer makes two groups, assigns
// them automatically and opens them; every participant then sees and hears
// its group-mates and nothing of the other group, on the subscribe
// connection it had from the start.  The trainer moves one participant,
// listens to a group, answers a help request by joining, writes to every
// group, extends the time, talks to all groups, and closes them: everyone
// is back on the stage with the same connections, and a member can be
// brought on stage.
//
// Each participant's camera is a canvas of its own colour (its microphone
// is Chromium's fake one), so a tile's pixels say whose video it decodes.
// Every page counts the RTCPeerConnections it makes and records the
// sessions of the `answer`s it gets.  One server and one set of pages; the
// steps run in order.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PEOPLE, Platform, TRAINER, failureTracking, goLive, near, waitFor } from './harness.mjs';

const ROOM = 'groups-test';
const LONG = 90000;
const TALK_SLOT = 12;   // joined.group_size: the trainer's "talk to all" voice in a group   // a bound for a hang on a slow, busy machine, not an expectation


// Inbound counters per slot of the page's subscribe connection (which:
// 'sub') or of the trainer's visit (which: 'visit'), pair i being slot i.
const counters = (page, which = 'sub') => page.evaluate(async (which) => {
    const pc = which === 'visit' ? window.stagecast.groups.visitPc : window.stagecast.pc;
    const out = {};
    if (!pc) return out;
    const tr = pc.getTransceivers();
    (await pc.getStats()).forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        const i = tr.findIndex((t) => t.mid === r.mid);
        if (i < 0) return;
        const o = (out[Math.floor(i / 2)] ||= { frames: 0, vbytes: 0, apackets: 0, abytes: 0 });
        if (r.kind === 'video') {
            o.frames = r.framesDecoded ?? 0;
            o.vbytes = r.bytesReceived ?? 0;
        } else {
            o.apackets = r.packetsReceived ?? 0;
            o.abytes = r.bytesReceived ?? 0;
        }
    });
    return out;
}, which);

// user id -> slot, as the page maps its tiles.
const slotsOf = (page, which = 'sub') => page.evaluate((which) => {
    const list = which === 'visit' ? [...window.stagecast.groups.visit.publishers.values()] : window.stagecast.publishers;
    return Object.fromEntries(list.map((p) => [p.user_id, p.slot]));
}, which);

// What a page's tiles show: whose slot, own camera or not, the picture's
// width and colour.
const tilesOf = (page, which = 'sub') => page.evaluate((which) => {
    const root = which === 'visit' ? '#group-visit-tiles' : '#tiles';
    const list = which === 'visit' ? [...window.stagecast.groups.visit.publishers.values()] : window.stagecast.publishers;
    const bySlot = new Map(list.map((p) => [p.slot, p.user_id]));
    return [...document.querySelectorAll(`${root} .tile`)].map((t) => {
        const v = t.querySelector('video');
        const slot = Number(t.dataset.slot);
        return { slot, user: bySlot.get(slot) ?? null, own: t.classList.contains('tile-own'),
            width: v.videoWidth, rgb: v.videoWidth ? window.__colorOf(v) : null };
    });
}, which);

// Video frames a participant's group publisher has sent.
const framesSent = (page) => page.evaluate(async () => {
    const pc = window.stagecast.groupPublisher?.pc;
    let n = 0;
    if (pc) (await pc.getStats()).forEach((r) => { if (r.type === 'outbound-rtp' && r.kind === 'video') n += r.framesSent ?? 0; });
    return n;
});

// The chat panel: send a line; whether a line reading `text` after its
// sender's name is shown.
async function say(page, text) {
    await page.fill('#chat-input', text);
    await page.click('#chat-form button');
    await waitFor('the chat box cleared after sending', async () => (await page.inputValue('#chat-input')) === '');
}
const heard = (page, text) => page.$$eval('#chat-list li', (els, text) =>
    els.some((e) => e.textContent.replace(/\s+/g, ' ').trim().endsWith(` ${text}`)), text);

const grew = (a = {}, b = {}, frames, packets) =>
    (b.frames ?? 0) >= (a.frames ?? 0) + frames && (b.apackets ?? 0) >= (a.apackets ?? 0) + packets;

describe('breakout groups: a trainer and four participants', { timeout: 600000 }, () => {
    const platform = new Platform(ROOM);
    const steps = failureTracking();
    const step = steps.step;
    let trainer;
    const pages = new Map();        // sub -> page
    const firstSub = new Map();     // sub -> the subscribe session of the first answer
    let groupOf = new Map();        // sub -> group id
    let groupIds = [];
    let handshakes = 0;             // dtls_handshakes before the groups opened
    let trainerPcs = 0;             // the trainer page's RTCPeerConnections then
    const person = (sub) => PEOPLE.find((p) => p.sub === sub);
    const members = (gid) => PEOPLE.filter((p) => groupOf.get(p.sub) === gid);

    // Where each participant page says it is (the `group` it got).
    const placeOf = (page) => page.evaluate(() => window.stagecast.group?.group?.id ?? null);

    // `page` decodes the video and receives the audio of every one of
    // `mates` (each tile the right colour), and nothing else: over a
    // stretch in which the mates sent more and every page of `silent` (the
    // other group) sent video frames too, no slot but the mates' and its
    // own grew, and no tile shows anyone else.
    async function receivesOnly(page, label, mates, silent, which = 'sub') {
        const decoding = async (start) => {
            const now = await counters(page, which);
            const slots = await slotsOf(page, which);
            return mates.every((m) => slots[m.sub] !== undefined && grew(start[slots[m.sub]], now[slots[m.sub]], 10, 25)) && now;
        };
        const who = mates.map((m) => m.name).join(', ') || 'nobody';
        // First the mates' media flows (a move has settled)...
        let start = await counters(page, which);
        await waitFor(`${label} decoding ${who}`, () => decoding(start), LONG, 500);
        // ...then a clean stretch to judge by.
        start = await counters(page, which);
        const sentStart = await Promise.all(silent.map((p) => framesSent(pages.get(p.sub))));
        const end = await waitFor(`${label} receiving ${who} again`, async () => {
            const sent = await Promise.all(silent.map((p) => framesSent(pages.get(p.sub))));
            return sent.every((n, i) => n >= sentStart[i] + 10) && decoding(start);
        }, LONG, 500);
        const slots = await slotsOf(page, which);
        const allowed = new Set(Object.values(slots));
        for (const [slot, after] of Object.entries(end)) {
            if (allowed.has(Number(slot))) continue;
            const before = start[slot] || {};
            assert.deepEqual([after.vbytes, after.abytes], [before.vbytes ?? 0, before.abytes ?? 0],
                `${label}: slot ${slot} (nobody of its room) received media`);
        }
        const users = new Set(Object.keys(slots));
        for (const p of silent) assert.ok(!users.has(p.sub), `${label} lists ${p.name} of the other group`);
        const tiles = await waitFor(`${label}'s tiles showing ${who}`, async () => {
            const t = await tilesOf(page, which);
            return mates.every((m) => t.some((x) => x.user === m.sub && x.width > 0 && near(x.rgb, m.rgb))) && t;
        }, 30000);
        for (const t of tiles) {
            const p = person(t.user);
            assert.ok(!silent.some((s) => s.sub === t.user), `${label} shows a tile of ${t.user}`);
            if (p && t.width > 0) assert.ok(near(t.rgb, p.rgb), `${label}: the tile of ${p.name} shows ${t.rgb}`);
            for (const s of silent) assert.ok(!near(t.rgb, s.rgb), `${label}: a tile shows ${s.name}'s colour`);
        }
    }

    // Every participant page: the one subscribe connection and session of
    // its first answer, at most one publish connection.
    async function sameConnections() {
        for (const p of PEOPLE) {
            const page = pages.get(p.sub);
            const c = await page.evaluate(() => ({
                pcs: window.__pcs.length,
                subscribes: window.__answers.filter((a) => a.kind === 'subscribe').map((a) => a.session),
                publishes: window.__answers.filter((a) => a.kind === 'publish').length,
                samePc: window.stagecast.pc === window.__pcs[0],
                session: window.stagecast.session,
                pubPc: window.stagecast.groupPublisher?.pc ?? null,
                pubIsSecond: !window.stagecast.groupPublisher || window.stagecast.groupPublisher.pc === window.__pcs[1],
            }));
            assert.deepEqual(c.subscribes, [firstSub.get(p.sub)], `${p.name}: subscribe answers`);
            assert.equal(c.session, firstSub.get(p.sub), `${p.name}: the subscribe session changed`);
            assert.ok(c.samePc, `${p.name}: the subscribe RTCPeerConnection is not the first one`);
            assert.ok(c.pcs <= 2 && c.publishes <= 1, `${p.name}: ${c.pcs} RTCPeerConnections, ${c.publishes} publish answers`);
            assert.ok(c.pubIsSecond, `${p.name}: the publish RTCPeerConnection is not the second one`);
        }
    }

    before(async () => {
        await platform.start();
    });

    after(async () => {
        await platform.finish(steps.failed);
    });

    step('the trainer goes live and four participants watch', async () => {
        trainer = await platform.openAs('presenter.html', 'presenter', TRAINER);
        await goLive(trainer);
        await waitFor('the groups panel', () => trainer.isVisible('#groups-admin'));
        for (const p of PEOPLE) pages.set(p.sub, await platform.openAs('viewer.html', 'viewer', p, { rgb: p.rgb }));
        for (const p of PEOPLE) {
            const page = pages.get(p.sub);
            await waitFor(`${p.name} watching`, async () => {
                const s = await page.evaluate(() => document.body.dataset.state);
                assert.notEqual(s, 'error', await page.textContent('#error'));
                return s === 'live';
            }, LONG);
            const sub = await page.evaluate(() => ({
                answers: window.__answers, session: window.stagecast.session,
                pairs: window.stagecast.pc.getTransceivers().length / 2,
                viewSlots: window.stagecast.signaling.joined.view_slots,
            }));
            assert.equal(sub.answers.length, 1, `${p.name}: ${JSON.stringify(sub.answers)}`);
            assert.deepEqual(sub.answers[0], { kind: 'subscribe', session: sub.session });
            firstSub.set(p.sub, sub.session);
            // The offer holds a group's slots as well as the stage's.
            assert.equal(sub.viewSlots, 13, 'joined.view_slots');
            assert.equal(sub.pairs, sub.viewSlots, `${p.name}: audio+video pairs offered`);
        }
    });

    step('the trainer makes two groups, assigns them automatically and opens them', async () => {
        await trainer.fill('#groups-count', '2');
        await trainer.getByRole('button', { name: 'Create groups' }).click();
        await waitFor('two group cards', async () => (await trainer.locator('#groups-list .group-card').count()) === 2);
        await waitFor('the four participants listed as not in a group', async () =>
            (await trainer.locator('#groups-unassigned li').count()) === 4);
        await trainer.selectOption('#groups-mode', 'auto');
        await trainer.getByRole('button', { name: 'Assign', exact: true }).click();
        await waitFor('two in each group', async () => {
            const n = await trainer.$$eval('#groups-list .group-card', (cards) =>
                cards.map((c) => c.querySelectorAll('.group-members li').length));
            return n.join() === '2,2';
        });
        assert.equal(await trainer.locator('#groups-unassigned li').count(), 0);
        handshakes = (await platform.stats()).dtls_handshakes;
        trainerPcs = await trainer.evaluate(() => window.__pcs.length);
        assert.equal(typeof handshakes, 'number', '/api/stats dtls_handshakes');
        await trainer.fill('#groups-duration', '30');
        await trainer.getByRole('button', { name: 'Open groups' }).click();
        await waitFor('the groups open on the trainer\'s page', () =>
            trainer.evaluate(() => document.body.dataset.groups === 'open'));
        assert.match(await trainer.textContent('#groups-state'), /Open · (29|30):\d\d left/);
        for (const p of PEOPLE) {
            const page = pages.get(p.sub);
            const gid = await waitFor(`${p.name} in a group`, () => placeOf(page), LONG);
            groupOf.set(p.sub, gid);
            const shown = await page.evaluate(() => ({
                body: document.body.dataset.group,
                name: document.querySelector('#group-name').textContent,
                visible: !document.querySelector('#group-view').hidden,
                timer: document.querySelector('#group-timer').textContent,
            }));
            assert.equal(shown.body, String(gid));
            assert.ok(shown.visible && shown.name, `${p.name}'s group bar: ${JSON.stringify(shown)}`);
            await waitFor(`${p.name}'s countdown`, async () => /^(29|30):\d\d left$/.test(await page.textContent('#group-timer')));
        }
        groupIds = [...new Set(groupOf.values())].sort();
        assert.equal(groupIds.length, 2, `two groups: ${JSON.stringify([...groupOf])}`);
        for (const gid of groupIds) assert.equal(members(gid).length, 2, `group ${gid}`);
    });

    step('each participant sees and hears its group-mate and nothing of the other group', async () => {
        await Promise.all(PEOPLE.map(async (p) => {
            const page = pages.get(p.sub);
            await waitFor(`${p.name} publishing`, () => page.evaluate(() => window.stagecast.groupPublisher?.state === 'live'), LONG);
            assert.equal(await page.evaluate(() => document.querySelector('#tiles').dataset.layout), 'grid');
        }));
        await Promise.all(PEOPLE.map((p) => {
            const gid = groupOf.get(p.sub);
            const mates = members(gid).filter((m) => m.sub !== p.sub);
            const others = PEOPLE.filter((m) => groupOf.get(m.sub) !== gid);
            return receivesOnly(pages.get(p.sub), p.name, mates, others);
        }));
        // The trainer's stage video is not among them: the stage is the main room's.
        for (const p of PEOPLE) {
            const slots = await slotsOf(pages.get(p.sub));
            assert.equal(slots[TRAINER.sub], undefined, `${p.name} still lists the trainer`);
            const own = (await tilesOf(pages.get(p.sub))).find((t) => t.user === p.sub);
            assert.ok(own?.own, `${p.name}'s own tile shows the local camera`);
        }
        await sameConnections();
    });

    step('the chat of a group stays in the group', async () => {
        // A line in each group, then a second one: once a page has its
        // group's second line, the other group's first would have come too.
        for (const round of ['first', 'second']) {
            for (const gid of groupIds) {
                const [a] = members(gid);
                await say(pages.get(a.sub), `${round} line of group ${gid}`);
            }
            for (const p of PEOPLE) {
                await waitFor(`${p.name} reading its group's ${round} line`, () =>
                    heard(pages.get(p.sub), `${round} line of group ${groupOf.get(p.sub)}`), LONG);
            }
        }
        for (const p of PEOPLE) {
            const other = groupIds.find((g) => g !== groupOf.get(p.sub));
            for (const round of ['first', 'second']) {
                assert.equal(await heard(pages.get(p.sub), `${round} line of group ${other}`), false,
                    `${p.name} reads group ${other}'s chat`);
            }
        }
        assert.equal(await heard(trainer, `first line of group ${groupIds[0]}`), false, 'the main room reads a group\'s chat');
    });

    step('the trainer moves a participant: it gets its new mates at once, on the same connections', async () => {
        const [ga, gb] = groupIds;
        const mover = members(ga)[0];
        const gbName = await trainer.$eval(`#groups-list .group-card[data-group-id="${gb}"] .who`, (e) => e.firstChild.textContent);
        await trainer.getByLabel(`Move ${mover.name} to`).selectOption(String(gb));
        const page = pages.get(mover.sub);
        await waitFor(`${mover.name} in group ${gb}`, async () => (await placeOf(page)) === gb, LONG);
        assert.equal(await page.textContent('#group-name'), gbName);
        groupOf.set(mover.sub, gb);
        await Promise.all(PEOPLE.map((p) => {
            const gid = groupOf.get(p.sub);
            return receivesOnly(pages.get(p.sub), p.name, members(gid).filter((m) => m.sub !== p.sub),
                PEOPLE.filter((m) => groupOf.get(m.sub) !== gid));
        }));
        await waitFor('the move on the trainer\'s page', async () => {
            const n = await trainer.$$eval('#groups-list .group-card', (cards) =>
                cards.map((c) => [c.dataset.groupId, c.querySelectorAll('.group-members li').length]));
            return JSON.stringify(n) === JSON.stringify([[String(ga), 1], [String(gb), 3]]);
        });
        await sameConnections();
    });

    step('the trainer listens to a group: sees and hears its members', async () => {
        const gb = groupIds[1];
        const name = await trainer.$eval(`#groups-list .group-card[data-group-id="${gb}"] .who`, (e) => e.firstChild.textContent);
        await trainer.getByRole('button', { name: `Listen to ${name}` }).click();
        await waitFor('the trainer in the group', () => trainer.evaluate(() =>
            window.stagecast.groups.place?.mode === 'listen' && !document.querySelector('#group-visit').hidden), LONG);
        assert.match(await trainer.textContent('#groups-visiting'), new RegExp(`Listening to ${name}`));
        await receivesOnly(trainer, 'the trainer', members(gb), members(groupIds[0]), 'visit');
        // Listening keeps the trainer's own camera out of the group.
        for (const p of members(gb)) {
            assert.equal((await slotsOf(pages.get(p.sub)))[TRAINER.sub], undefined, `${p.name} gets the listening trainer`);
        }
        // What the trainer writes meanwhile is the group's chat.
        await say(trainer, 'the trainer listening in');
        for (const p of members(gb)) {
            await waitFor(`the trainer's line on ${p.name}'s page`, () => heard(pages.get(p.sub), 'the trainer listening in'), LONG);
        }
        for (const p of members(groupIds[0])) {
            assert.equal(await heard(pages.get(p.sub), 'the trainer listening in'), false, `${p.name} reads the visited group's chat`);
        }
        await trainer.getByRole('button', { name: 'Back to main room' }).click();
        await waitFor('the trainer back in the main room', () => trainer.evaluate(() =>
            !window.stagecast.groups.place && document.querySelector('#group-visit').hidden));
    });

    step('a participant asks for help; the trainer joins the group from the request', async () => {
        const ga = groupIds[0];
        const asker = members(ga)[0];
        const page = pages.get(asker.sub);
        await page.getByRole('button', { name: 'Ask for help' }).click();
        await waitFor('the request on the trainer\'s page', async () =>
            (await trainer.locator('#groups-help li', { hasText: asker.name }).count()) === 1);
        const name = await trainer.$eval(`#groups-list .group-card[data-group-id="${ga}"] .who`, (e) => e.firstChild.textContent);
        assert.match(await trainer.textContent('#groups-help li'), new RegExp(name));
        assert.equal(await page.getByRole('button', { name: 'Cancel help request' }).count(), 1);
        await trainer.getByRole('button', { name: `Join ${name} to help ${asker.name}` }).click();
        await waitFor('the trainer joined the group', () => trainer.evaluate(() =>
            window.stagecast.groups.place?.mode === 'join'), LONG);
        await waitFor('the request answered', async () => (await trainer.locator('#groups-help li').count()) === 0);
        // On camera there: the asker decodes the trainer's video.
        await waitFor(`${asker.name} decoding the trainer`, async () => {
            const slot = (await slotsOf(page))[TRAINER.sub];
            if (slot === undefined) return false;
            const a = (await counters(page))[slot]?.frames ?? 0;
            return a > 0 && waitFor('more frames', async () => ((await counters(page))[slot]?.frames ?? 0) > a + 10, 30000);
        }, LONG);
        await trainer.getByRole('button', { name: 'Back to main room' }).click();
        await waitFor('the trainer back on stage', () => trainer.evaluate(() => !window.stagecast.groups.place));
        await waitFor(`the trainer gone from ${asker.name}'s group`, async () =>
            (await slotsOf(page))[TRAINER.sub] === undefined);
    });

    step('a broadcast reaches every group', async () => {
        await trainer.fill('#groups-broadcast-text', 'Five more minutes, then we meet again');
        await trainer.getByRole('button', { name: 'Send to all groups' }).click();
        for (const p of PEOPLE) {
            const page = pages.get(p.sub);
            await waitFor(`the broadcast on ${p.name}'s page`, async () =>
                (await page.isVisible('#group-broadcast'))
                && (await page.textContent('#group-broadcast-text')) === 'Five more minutes, then we meet again');
        }
    });

    step('"Talk to all": held, the trainer\'s voice reaches every group and plays there', async () => {
        const audioOn = (page) => counters(page).then((c) => c[TALK_SLOT]?.apackets ?? 0);
        const start = await Promise.all(PEOPLE.map((p) => audioOn(pages.get(p.sub))));
        await trainer.hover('#groups-talk');
        await trainer.mouse.down();
        await waitFor('the server says the trainer talks', () => trainer.evaluate(() => window.stagecast.groups.state.talking === true));
        await Promise.all(PEOPLE.map(async (p, i) => {
            const page = pages.get(p.sub);
            await waitFor(`the trainer's voice in ${p.name}'s slot ${TALK_SLOT}`,
                async () => (await audioOn(page)) >= start[i] + 25, LONG);
            // Played by the page (it has no tile), and said so.
            assert.ok(await page.evaluate((slot) => {
                const a = document.querySelector('#talk-audio');
                const track = window.stagecast.pc.getTransceivers()[slot * 2].receiver.track;
                return !a.paused && a.srcObject?.getAudioTracks().includes(track);
            }, TALK_SLOT), `${p.name}'s page does not play slot ${TALK_SLOT}`);
            await waitFor(`the note on ${p.name}'s page`, () => page.isVisible('#group-talking'));
        }));
        await trainer.mouse.up();
        await waitFor('talking off', () => trainer.evaluate(() => window.stagecast.groups.state.talking === false));
        for (const p of PEOPLE) await waitFor(`the note gone on ${p.name}'s page`, async () => !(await pages.get(p.sub).isVisible('#group-talking')));
    });

    // Back on the stage: the trainer's video decoding again on the same
    // subscribe connection, the group camera off and its connection kept.
    async function backOnStage(p) {
        const page = pages.get(p.sub);
        await waitFor(`${p.name} back in the main room`, async () => (await placeOf(page)) === null
            && (await page.evaluate(() => document.body.dataset.group)) === '', LONG);
        assert.match(await page.evaluate(() => window.__graceSeen || ''), /back to the main room in \d+ s/,
            `${p.name} saw no closing countdown`);
        await waitFor(`${p.name} decoding the trainer again`, async () => {
            const slot = (await slotsOf(page))[TRAINER.sub];
            if (slot === undefined) return false;
            const a = (await counters(page))[slot]?.frames ?? 0;
            return a > 0 && waitFor('more frames', async () => ((await counters(page))[slot]?.frames ?? 0) > a + 10, 30000);
        }, LONG);
        await waitFor(`${p.name}'s page live`, () => page.evaluate(() => document.body.dataset.state === 'live'));
        const slots = await slotsOf(page);
        assert.deepEqual(Object.keys(slots), [TRAINER.sub], `${p.name}'s stage: ${JSON.stringify(slots)}`);
        const pub = await page.evaluate(() => {
            const g = window.stagecast.groupPublisher;
            return { tracks: g.stream.getTracks().map((t) => t.enabled), pc: g.pc?.connectionState };
        });
        assert.deepEqual(pub.tracks, [false, false], `${p.name}'s tracks`);
        assert.ok(pub.pc && pub.pc !== 'closed', `${p.name}'s publish connection: ${pub.pc}`);
    }

    step('the trainer closes one group with a grace and extends the others: that group comes back, the rest stay', async () => {
        for (const p of PEOPLE) {
            // A countdown may last less than a poll: each page notes it.
            await pages.get(p.sub).evaluate(() => {
                const g = document.querySelector('#group-grace');
                window.__graceSeen = '';
                new MutationObserver(() => {
                    if (!g.hidden && /in \d+ s/.test(g.textContent)) window.__graceSeen = g.textContent;
                }).observe(g, { attributes: true, childList: true, characterData: true, subtree: true });
            });
        }
        const [ga, gb] = groupIds;
        const name = await trainer.$eval(`#groups-list .group-card[data-group-id="${ga}"] .who`, (e) => e.firstChild.textContent);
        const endsAt = await trainer.evaluate(() => window.stagecast.groups.state.ends_at);
        await trainer.fill('#groups-grace', '6');
        await trainer.getByRole('button', { name: `Close ${name}`, exact: true }).click();
        await trainer.getByRole('button', { name: 'Extend by five minutes' }).click();
        const state = await waitFor('ends_at five minutes later', () => trainer.evaluate((e) => {
            const g = window.stagecast.groups.state;
            return g.ends_at === e + 300000 && g;
        }, endsAt));
        // The extension does not call off the close the trainer asked for.
        const a = state.groups.find((g) => g.id === ga);
        assert.ok(a.closing_at || !a.open, `${name} after the extension: ${JSON.stringify(a)}`);
        for (const p of members(ga)) {
            await backOnStage(p);
            groupOf.set(p.sub, null);
        }
        for (const p of members(gb)) {
            const page = pages.get(p.sub);
            assert.equal(await placeOf(page), gb, `${p.name} left its group`);
            await waitFor(`${p.name}'s countdown extended`, async () =>
                /^3[45]:\d\d left$/.test(await page.textContent('#group-timer')));
        }
    });

    step('closing all with a grace brings everyone back to the stage on the same connections', async () => {
        const inGroup = PEOPLE.filter((p) => groupOf.get(p.sub) !== null);
        await trainer.fill('#groups-grace', '3');
        await trainer.getByRole('button', { name: 'Close all groups' }).click();
        await Promise.all(inGroup.map((p) => backOnStage(p)));
        await waitFor('the groups closed on the trainer\'s page', () => trainer.evaluate(() => document.body.dataset.groups === 'idle'));
        await sameConnections();
        // No move made a handshake: the new ones are the participants'
        // first publishes and the trainer's visits.
        const visits = (await trainer.evaluate(() => window.__pcs.length)) - trainerPcs;
        assert.equal((await platform.stats()).dtls_handshakes - handshakes, PEOPLE.length + visits,
            `DTLS handshakes since the groups opened (${visits} visits)`);
    });

    step('after the groups, the trainer brings a member on stage', async () => {
        const p = PEOPLE[1];
        const page = pages.get(p.sub);
        // No hand raised: the invitation goes to the member's /ws
        // connection (never to its subscribe session's data channel, which
        // the page does not read invitations from).
        await trainer.getByRole('button', { name: `Bring ${p.name} to stage` }).click();
        await waitFor(`${p.name} invited`, () => page.evaluate(() => document.body.dataset.stage === 'invited'));
        await page.getByRole('button', { name: 'Decline' }).click();
        await waitFor(`${p.name} back in the audience`, () => page.evaluate(() => document.body.dataset.stage === 'audience'));
    });
});
