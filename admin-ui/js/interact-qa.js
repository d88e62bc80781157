// Q&A (docs/protocol.md, "Interactions"): everyone with `chat` asks,
// optionally anonymously; everyone upvotes once; moderators answer in text
// or just mark a question answered.  The list is sorted like the server's
// question_list: most votes first, then oldest first.

import { actionButton, el, explain, hasPerm, setOff } from './interact-ui.js';

export class QaPanel {
    // root: an empty element to build into; onNew(): called when a new
    // question arrives (the page marks its tab).
    constructor(root, sig, { onNew } = {}) {
        this.sig = sig;
        this.onNew = onNew;
        this.moderator = false;
        this.questions = new Map();   // id -> question message
        this.items = new Map();       // id -> {li, ...parts}
        this.myVotes = new Set();
        this.held = new Set();        // review ids of my held questions
        this.input = el('textarea', {
            id: 'qa-input', class: 'qa-input', rows: 2, maxlength: 500, placeholder: 'Ask the host a question…',
        });
        this.anon = el('input', { type: 'checkbox', id: 'qa-anonymous' });
        this.askButton = el('button', { type: 'submit', class: 'primary', text: 'Ask' });
        this.form = el('form', { class: 'qa-form', id: 'qa-form' },
            el('label', { for: 'qa-input', class: 'field', text: 'Your question' }), this.input,
            el('div', { class: 'form-row' },
                el('label', { class: 'toggle', title: 'Hidden from other viewers; the hosts can see who asked' },
                    this.anon, ' Ask anonymously (hosts still see who)'), this.askButton));
        this.status = el('p', { class: 'note qa-status', role: 'status' });
        this.list = el('ol', { class: 'qa-list', id: 'qa-list', 'aria-label': 'Questions', 'aria-live': 'polite' });
        this.empty = el('p', { class: 'note', text: 'No questions yet.' });
        root.append(this.form, this.status, this.list, this.empty);
        this.form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.ask();
        });

        sig.on('joined', (msg) => {
            this.moderator = hasPerm(msg, 'moderate');
            const canAsk = hasPerm(msg, 'chat');
            this.input.disabled = this.askButton.disabled = !canAsk;
            // A fresh connection: the server's list is the truth.
            sig.request({ type: 'question_list' }).then((reply) => {
                this.questions.clear();
                for (const q of reply.questions || []) this.questions.set(q.id, q);
                this.render(true);
            }).catch((err) => { this.status.textContent = explain(err); });
        });
        sig.on('question', (q) => {
            const isNew = !this.questions.has(q.id);
            this.questions.set(q.id, q);
            this.render(false);
            if (isNew) this.onNew?.();
        });
        sig.on('review_done', (msg) => {
            if (!this.held.delete(msg.review_id)) return;
            this.status.textContent = msg.approved
                ? 'A moderator approved your question.' : 'A moderator did not approve your question.';
        });
    }

    async ask() {
        const text = this.input.value.trim();
        if (!text) return;
        this.askButton.disabled = true;
        try {
            const reply = await this.sig.request({ type: 'question_ask', text, anonymous: this.anon.checked });
            this.input.value = '';
            if (reply.type === 'held') {
                this.held.add(reply.review_id);
                this.status.textContent = 'Your question is waiting for a moderator to approve it.';
            } else {
                this.status.textContent = 'Question sent.';
            }
        } catch (err) {
            this.status.textContent = explain(err);
        } finally {
            this.askButton.disabled = false;
        }
    }

    sorted() {
        return [...this.questions.values()].sort((a, b) => (b.votes - a.votes) || (a.id - b.id));
    }

    makeItem(q) {
        const parts = {
            who: el('strong', { class: 'q-who' }),
            votes: el('span', { class: 'q-votes' }),
            text: el('p', { class: 'q-text' }),
            answer: el('p', { class: 'q-answer' }),
            actions: el('div', { class: 'row-actions' }),
        };
        parts.li = el('li', { class: 'question', dataset: { id: q.id } },
            el('div', { class: 'q-head' }, parts.who, parts.votes), parts.text, parts.answer, parts.actions);
        parts.vote = actionButton('▲ Upvote', () => this.vote(q.id), { statusEl: this.status });
        parts.actions.append(parts.vote);
        parts.modBox = null;
        return parts;
    }

    // Moderators get a reply box and two buttons under each question.
    moderatorBox(q) {
        const input = el('input', {
            class: 'q-answer-input', maxlength: 2000, placeholder: 'Answer in text (optional)',
            'aria-label': 'Answer',
        });
        const answer = actionButton('Answer', async () => {
            const text = input.value.trim();
            if (!text) throw new Error('Type an answer first, or use "Mark answered".');
            await this.sig.request({ type: 'question_answer', question: q.id, text });
            input.value = '';
        }, { statusEl: this.status, label: 'Send answer' });
        const mark = actionButton('Mark answered',
            () => this.sig.request({ type: 'question_answer', question: q.id }), { statusEl: this.status });
        return el('div', { class: 'q-moderate' }, input, answer, mark);
    }

    async vote(id) {
        try {
            await this.sig.request({ type: 'question_vote', question: id });
        } catch (err) {
            if (err.code !== 'already-voted') throw err;
        }
        this.myVotes.add(id);
        this.render(false);
    }

    update(parts, q) {
        parts.who.textContent = q.anonymous || !q.from ? 'Anonymous' : (q.from.name || q.from.user_id);
        parts.votes.textContent = `${q.votes} vote${q.votes === 1 ? '' : 's'}`;
        parts.text.textContent = q.text ?? '';
        parts.li.classList.toggle('answered', !!q.answered);
        if (q.answered) {
            const by = q.answered_by?.name ? ` by ${q.answered_by.name}` : '';
            parts.answer.textContent = q.answer ? `Answer${by}: ${q.answer}` : `Answered${by}`;
        } else {
            parts.answer.textContent = '';
        }
        const voted = this.myVotes.has(q.id);
        parts.vote.textContent = voted ? '▲ Voted' : '▲ Upvote';
        parts.vote.setAttribute('aria-pressed', String(voted));
        parts.vote.setAttribute('aria-label', `${voted ? 'You upvoted' : 'Upvote'} this question (${q.votes})`);
        setOff(parts.vote, voted);
        if (this.moderator && !parts.modBox) {
            parts.modBox = this.moderatorBox(q);
            parts.li.append(parts.modBox);
        } else if (!this.moderator && parts.modBox) {
            parts.modBox.remove();
            parts.modBox = null;
        }
    }

    render(rebuild) {
        if (rebuild) {
            this.items.clear();
            this.list.replaceChildren();
        }
        const order = this.sorted();
        for (const q of order) {
            let parts = this.items.get(q.id);
            if (!parts) {
                parts = this.makeItem(q);
                this.items.set(q.id, parts);
            }
            this.update(parts, q);
        }
        // Move nodes only when the order changed: moving a node would take
        // the focus away from a moderator typing an answer.
        const current = [...this.list.children].map((li) => Number(li.dataset.id));
        const wanted = order.map((q) => q.id);
        if (current.length !== wanted.length || current.some((id, i) => id !== wanted[i])) {
            for (const q of order) this.list.append(this.items.get(q.id).li);
        }
        this.empty.hidden = order.length > 0;
    }
}
