// The trainer's wall of breakout groups (docs/protocol.md, "Breakout
// groups", Pages): a trainer on the presenter page and four participants
// on viewer pages, in two groups.  While the groups are open the wall
// shows a tile per group decoding its own members' cameras (each a canvas
// of its own colour) and nothing of the other group, on one session per
// group (`group_watch`) that asked for the lowest layer of every slot; a
// help request and a group gone quiet (its members' microphones off) show
// on the tile; a click on a tile listens to the group; closing the groups
// takes the wall away and ends its sessions.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PEOPLE, Platform, TRAINER, failureTracking, near, waitFor } from './harness.mjs';

const ROOM = 'wall-test';
const LONG = 60000;   // a bound for a hang on a slow, busy machine, not an expectation
const GROUP_SIZE = 12;   // joined.group_size: the member slots a wall session pins

// What the wall shows: per tile its group, each picture's size and colour,
// its marks and the names it highlights.
const wallOf = (page) => page.evaluate(() => ({
    shown: !document.querySelector('#group-wall').hidden,
    tiles: [...document.querySelectorAll('#group-wall-tiles .wall-tile')].map((t) => ({
        id: Number(t.dataset.groupId),
        pictures: [...t.querySelectorAll('.wall-cell video')].map((v) =>
            ({ width: v.videoWidth, height: v.videoHeight, rgb: v.videoWidth ? window.__colorOf(v) : null })),
        help: !t.querySelector('.help-badge').hidden,
        quiet: !t.querySelector('.quiet-badge').hidden,
        speaking: [...t.querySelectorAll('.wall-members .speaking')].map((e) => e.textContent),
        members: [...t.querySelectorAll('.wall-members li')].map((e) => e.textContent),
        timer: t.querySelector('.wall-timer').textContent,
        visiting: t.classList.contains('wall-visiting'),
    })),
}));

// Per group on the wall: its session, and the video frames decoded and
// bytes received per slot of its connection.
const wallSessions = (page) => page.evaluate(async () => {
    const out = {};
    for (const [id, tile] of window.stagecast.groups.wall.tiles) {
        const pc = tile.peer.pc;
        const slots = {};
        if (pc) {
            const tr = pc.getTransceivers();
            (await pc.getStats()).forEach((r) => {
                if (r.type !== 'inbound-rtp' || r.kind !== 'video') return;
                const slot = Math.floor(tr.findIndex((t) => t.mid === r.mid) / 2);
                slots[slot] = { frames: r.framesDecoded ?? 0, bytes: r.bytesReceived ?? 0, width: r.frameWidth ?? 0 };
            });
        }
        out[id] = { session: tile.peer.session, slots };
    }
    return out;
});

const sessionsNow = async (platform) => (await platform.stats()).workers.reduce((n, w) => n + w.sessions, 0);

describe('the trainer\'s wall of breakout groups', { timeout: 300000 }, () => {
    const platform = new Platform(ROOM);
    const steps = failureTracking();
    const step = steps.step;
    let trainer;
    const pages = new Map();     // sub -> page
    const groupOf = new Map();   // sub -> group id
    let ga;                      // the group whose microphones are off
    let gb;                      // the group that asks for help
    let sessionsBefore;          // media sessions before the groups opened
    const members = (gid) => PEOPLE.filter((p) => groupOf.get(p.sub) === gid);

    before(async () => {
        await platform.start();
    });

    after(async () => {
        await platform.finish(steps.failed);
    });

    step('the trainer opens two groups of two', async () => {
        trainer = await platform.openAs('presenter.html', 'presenter', TRAINER, { record: ['group_watch', 'layer', 'unsubscribe'] });
        await waitFor('the groups panel', () => trainer.isVisible('#groups-admin'));
        for (const p of PEOPLE) pages.set(p.sub, await platform.openAs('viewer.html', 'viewer', p, { rgb: p.rgb }));
        for (const p of PEOPLE) {
            await waitFor(`${p.name}'s subscribe session`, () => pages.get(p.sub).evaluate(() => window.stagecast.session), LONG);
        }
        await trainer.fill('#groups-count', '2');
        await trainer.getByRole('button', { name: 'Create groups' }).click();
        await waitFor('the four participants listed as not in a group', async () =>
            (await trainer.locator('#groups-unassigned li').count()) === 4);
        await trainer.selectOption('#groups-mode', 'auto');
        await trainer.getByRole('button', { name: 'Assign', exact: true }).click();
        await waitFor('all four assigned', async () => (await trainer.locator('#groups-unassigned li').count()) === 0);
        assert.equal(await trainer.isVisible('#group-wall'), false, 'the wall before the groups open');
        sessionsBefore = await sessionsNow(platform);
        await trainer.fill('#groups-duration', '10');
        await trainer.getByRole('button', { name: 'Open groups' }).click();
        for (const p of PEOPLE) {
            const page = pages.get(p.sub);
            groupOf.set(p.sub, await waitFor(`${p.name} in a group`, () =>
                page.evaluate(() => window.stagecast.group?.group?.id ?? null), LONG));
        }
        [ga, gb] = [...new Set(groupOf.values())].sort();
        assert.deepEqual([members(ga).length, members(gb).length], [2, 2]);
        // Group A's microphones off as soon as they publish: the server
        // marks a group quiet after 20 s without speech.
        await Promise.all(PEOPLE.map(async (p) => {
            const page = pages.get(p.sub);
            await waitFor(`${p.name} publishing`, () => page.evaluate(() => window.stagecast.groupPublisher?.state === 'live'), LONG);
            if (groupOf.get(p.sub) === ga) {
                await page.evaluate(() => window.stagecast.groupPublisher.stream.getAudioTracks().forEach((t) => { t.enabled = false; }));
            }
        }));
    });

    step('the wall shows a tile per group, each decoding its own members only', async () => {
        const wall = await waitFor('two tiles, each with its members\' pictures', async () => {
            const w = await wallOf(trainer);
            return w.shown && w.tiles.length === 2 && w.tiles.every((t) => members(t.id).every((m) =>
                t.pictures.some((x) => near(x.rgb, m.rgb)))) && w;
        }, LONG);
        assert.deepEqual(wall.tiles.map((t) => t.id), [ga, gb]);
        for (const t of wall.tiles) {
            const other = PEOPLE.filter((p) => groupOf.get(p.sub) !== t.id);
            assert.equal(t.pictures.length, 2, `group ${t.id}'s pictures: ${JSON.stringify(t.pictures)}`);
            for (const x of t.pictures) {
                assert.ok(!other.some((o) => near(x.rgb, o.rgb)), `group ${t.id}'s tile shows ${x.rgb} of the other group`);
            }
            assert.deepEqual(t.members.sort(), members(t.id).map((m) => m.name).sort());
            assert.match(t.timer, /^(9|10):\d\d left$/);
        }
        // Decoding, not a still: over a stretch each wall connection's
        // member slots decode more frames, and no other slot gets a byte.
        const start = await wallSessions(trainer);
        const end = await waitFor('ten more frames of every member', async () => {
            const now = await wallSessions(trainer);
            return [ga, gb].every((g) => {
                const slots = Object.entries(now[g].slots);
                return slots.filter(([, s]) => s.bytes > 0).length === 2
                    && slots.filter(([slot, s]) => s.frames >= (start[g].slots[slot]?.frames ?? 0) + 10).length === 2;
            }) && now;
        }, LONG);
        for (const g of [ga, gb]) {
            const active = Object.values(end[g].slots).filter((s) => s.bytes > 0);
            assert.equal(active.length, 2, `group ${g}'s wall connection receives ${active.length} slots`);
            // Participants publish one layer (no simulcast): the lowest is
            // the one there is, the camera's 320 px.
            for (const s of active) assert.equal(s.width, 320);
        }
        // One connection per group, on its `group_watch` session, which
        // asked for the lowest layer of every member slot.
        const pcs = await trainer.evaluate(() => window.__pcs.length);
        assert.equal(pcs, 2, 'the trainer page\'s RTCPeerConnections');
        const requests = await trainer.evaluate(() => window.__requests);
        const watches = requests.filter((r) => r.type === 'group_watch');
        assert.deepEqual(watches.map((r) => [r.msg.group, r.reply?.type]).sort(), [[ga, 'answer'], [gb, 'answer']]);
        for (const g of [ga, gb]) {
            const layers = requests.filter((r) => r.type === 'layer' && r.msg.session === end[g].session);
            assert.deepEqual(layers.map((r) => [r.msg.slot, r.msg.layer, r.reply?.type]),
                [...Array(GROUP_SIZE).keys()].map((slot) => [slot, 'low', 'ok']), `group ${g}'s layer requests`);
        }
        assert.equal(await sessionsNow(platform), sessionsBefore + PEOPLE.length + 2, 'media sessions: 4 publishes and 2 wall sessions more');
    });

    step('a help request and a quiet group show on their tiles', async () => {
        const asker = members(gb)[0];
        await pages.get(asker.sub).getByRole('button', { name: 'Ask for help' }).click();
        await waitFor('the help mark on group B\'s tile', async () =>
            (await wallOf(trainer)).tiles.find((t) => t.id === gb)?.help);
        assert.equal((await wallOf(trainer)).tiles.find((t) => t.id === ga).help, false, 'help on group A\'s tile');
        // Group A has been silent since it opened.
        const wall = await waitFor('the quiet mark on group A\'s tile', async () => {
            const w = await wallOf(trainer);
            return w.tiles.find((t) => t.id === ga)?.quiet && w;
        }, LONG, 500);
        const state = await trainer.evaluate(() => window.stagecast.groups.state);
        assert.equal(state.groups.find((g) => g.id === ga).quiet, true);
        assert.deepEqual(wall.tiles.find((t) => t.id === ga).speaking, [], 'a quiet group highlights a speaker');
        // Group B hears Chromium's fake microphones' beeps: not quiet, and
        // its tile highlights the speaker the server names.
        const b = state.groups.find((g) => g.id === gb);
        assert.equal(b.quiet, false, 'group B quiet');
        assert.ok(members(gb).some((m) => m.name === b.speaker), `group B's speaker: ${b.speaker}`);
        const tileB = await waitFor('group B\'s speaker highlighted', async () =>
            (await wallOf(trainer)).tiles.find((t) => t.id === gb && t.speaking.length));
        assert.deepEqual([tileB.quiet, tileB.speaking], [false, [b.speaker]]);
    });

    step('a click on a tile listens to its group', async () => {
        const name = await trainer.$eval(`#group-wall-tiles .wall-tile[data-group-id="${ga}"] .wall-name`, (e) => e.textContent);
        await trainer.getByRole('button', { name: `${name}: listen` }).click();
        await waitFor('the trainer listening to group A', () => trainer.evaluate((ga) => {
            const p = window.stagecast.groups.place;
            return p?.mode === 'listen' && p.group.id === ga;
        }, ga), LONG);
        assert.ok((await wallOf(trainer)).tiles.find((t) => t.id === ga).visiting, 'the visited tile is not marked');
        await trainer.getByRole('button', { name: 'Back to main room' }).click();
        await waitFor('the trainer back in the main room', () => trainer.evaluate(() => !window.stagecast.groups.place));
    });

    step('closing the groups takes the wall away and ends its sessions', async () => {
        const sessions = Object.values(await wallSessions(trainer)).map((s) => s.session);
        await trainer.fill('#groups-grace', '0');
        await trainer.getByRole('button', { name: 'Close all groups' }).click();
        await waitFor('the groups closed', () => trainer.evaluate(() => document.body.dataset.groups === 'idle'), LONG);
        const wall = await wallOf(trainer);
        assert.deepEqual([wall.shown, wall.tiles.length], [false, 0]);
        const ends = await waitFor('the server\'s answers to unsubscribe', async () => {
            const r = (await trainer.evaluate(() => window.__requests))
                .filter((x) => x.type === 'unsubscribe' && sessions.includes(x.msg.session));
            return r.length === 2 && r.every((x) => x.reply) && r;
        });
        assert.deepEqual(ends.map((x) => x.reply.type), ['ok', 'ok']);
        // Left: the participants' subscribe and (parked) publish sessions.
        await waitFor('the wall\'s sessions gone from /api/stats', async () =>
            (await sessionsNow(platform)) === sessionsBefore + PEOPLE.length);
    });
});
