// The tabbed interaction panel of the presenter and viewer pages: Chat,
// Q&A and Polls for everyone; Lottery, Check-in, Announcement and
// Moderation once the joined token grants `moderate` (the host, or an
// assistant watching from the viewer page).

import { ChatPanel } from './chat.js';
import { AnnounceAdmin } from './interact-announce.js';
import { CheckinAdmin } from './interact-checkin.js';
import { LotteryAdmin } from './interact-lottery.js';
import { ModerationAdmin } from './interact-moderation.js';
import { PollsPanel } from './interact-polls.js';
import { QaPanel } from './interact-qa.js';
import { Tabs, el, hasPerm } from './interact-ui.js';

const MODERATOR_TABS = ['lottery', 'checkin', 'announce', 'moderation'];

export class InteractPanel {
    // root: the page's <aside id="interact">; chatRoot: its #chat section,
    // moved into the Chat tab.  token: the page's token (the check-in CSV
    // export sends it as Bearer).
    constructor(root, sig, { chatRoot, token }) {
        this.root = root;
        let room = '';
        this.tabs = new Tabs(root, 'Interaction');
        this.chat = new ChatPanel(chatRoot, sig);
        this.tabs.add('chat', 'Chat', chatRoot);
        this.qa = new QaPanel(this.tabs.add('qa', 'Q&A', el('div', { class: 'qa' })), sig,
            { onNew: () => this.tabs.notify('qa') });
        this.polls = new PollsPanel(this.tabs.add('polls', 'Polls', el('div', { class: 'polls' })), sig,
            { onNew: () => this.tabs.notify('polls') });
        this.lottery = new LotteryAdmin(this.tabs.add('lottery', 'Lottery', el('div', { class: 'stack' })), sig, {
            getQuizzes: () => [...this.polls.polls.values()].filter((p) => p.quiz && p.state === 'closed'),
        });
        this.checkin = new CheckinAdmin(this.tabs.add('checkin', 'Check-in', el('div', { class: 'stack' })), sig,
            { token, getRoom: () => room });
        this.announce = new AnnounceAdmin(this.tabs.add('announce', 'Announce', el('div', { class: 'stack' })), sig);
        this.moderation = new ModerationAdmin(this.tabs.add('moderation', 'Moderation', el('div', { class: 'stack' })),
            sig, { onNew: () => this.tabs.notify('moderation') });
        for (const id of MODERATOR_TABS) this.tabs.show(id, false);
        sig.on('joined', (msg) => {
            room = msg.room || '';
            root.hidden = false;
            const mod = hasPerm(msg, 'moderate');
            root.dataset.moderator = mod ? '1' : '';
            for (const id of MODERATOR_TABS) this.tabs.show(id, mod);
        });
    }
}
