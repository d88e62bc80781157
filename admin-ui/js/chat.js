// The room's chat, shared by the presenter and viewer pages: history on
// join, live messages from the server's batches, a box to send.  The
// protocol is docs/protocol.md, "Interactions".

import { explain, hasPerm } from './interact-ui.js';

const MAX_SHOWN = 200;

export class ChatPanel {
    // root: an empty element (the page's #chat section) to build into.
    constructor(root, sig) {
        this.root = root;
        this.sig = sig;
        root.innerHTML = `
            <h2>Chat</h2>
            <ul class="chat-list" id="chat-list" aria-live="polite"></ul>
            <form class="chat-form" id="chat-form">
              <input class="chat-input" id="chat-input" maxlength="500" autocomplete="off"
                     aria-label="Message" placeholder="Say something…">
              <button type="submit">Send</button>
            </form>
            <p class="note chat-rules" id="chat-rules" hidden></p>
            <p class="note chat-status" role="status"></p>`;
        this.list = root.querySelector('.chat-list');
        this.form = root.querySelector('.chat-form');
        this.input = root.querySelector('.chat-input');
        this.status = root.querySelector('.chat-status');
        this.rules = root.querySelector('.chat-rules');
        this.seen = new Set();
        this.held = new Set();       // review ids of my messages waiting for a moderator
        this.moderator = false;
        this.form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.send();
        });
        sig.on('joined', (msg) => {
            this.root.hidden = false;
            this.input.disabled = !hasPerm(msg, 'chat');
            this.moderator = hasPerm(msg, 'moderate');
        });
        sig.on('room_settings', (s) => this.showRules(s));
        sig.on('review_done', (msg) => {
            if (!this.held.delete(msg.review_id)) return;
            this.status.textContent = msg.approved
                ? 'A moderator approved your message.' : 'A moderator did not approve your message.';
        });
        sig.on('chat_history', (msg) => (msg.messages || []).forEach((m) => this.add(m)));
        sig.on('batch', (msg) => (msg.messages || []).forEach((m) => {
            if (m.type === 'chat') this.add(m);
        }));
    }

    add(m) {
        if (m.id !== undefined) {
            if (this.seen.has(m.id)) return;   // history and a batch may overlap
            this.seen.add(m.id);
        }
        const li = document.createElement('li');
        const who = document.createElement('strong');
        who.textContent = m.from?.name || 'Anonymous';
        const text = document.createElement('span');
        text.textContent = ` ${m.text ?? ''}`;   // textContent: never HTML
        li.append(who, text);
        this.list.append(li);
        while (this.list.children.length > MAX_SHOWN) this.list.firstElementChild.remove();
        this.list.scrollTop = this.list.scrollHeight;
    }

    // What the room's settings mean for this person (moderators skip them).
    showRules(s) {
        const rules = [];
        if (s.chat_off) rules.push(this.moderator ? 'Chat is off for the audience.' : 'Chat is off.');
        if (s.slow_mode_s > 0) rules.push(`Slow mode: one message every ${s.slow_mode_s} s.`);
        if (s.preapprove) rules.push('Messages appear after a moderator approves them.');
        this.rules.textContent = rules.join(' ');
        this.rules.hidden = rules.length === 0;
    }

    async send() {
        const text = this.input.value.trim();
        if (!text) return;
        this.status.textContent = '';
        try {
            const reply = await this.sig.request({ type: 'chat', text });
            this.input.value = '';
            if (reply.type === 'held') {
                this.held.add(reply.review_id);
                this.status.textContent = 'Your message is held: waiting for a moderator to approve.';
            }
        } catch (err) {
            this.status.textContent = explain(err);
        }
    }
}
