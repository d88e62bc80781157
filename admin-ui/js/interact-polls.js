// Polls and quizzes (docs/protocol.md, "Interactions").  The audience
// votes once (one option, or several in a multiple-choice poll) and then
// sees the live results; a closed quiz shows its correct options and
// whether my ballot was right.  Moderators create polls (single, multiple,
// quiz with its correct options), open and close them, watch the result
// bars and the quiz scores.

import { actionButton, el, explain, hasPerm, resultBar } from './interact-ui.js';

const MAX_OPTIONS = 10;

export class PollsPanel {
    constructor(root, sig, { onNew } = {}) {
        this.sig = sig;
        this.onNew = onNew;
        this.moderator = false;
        this.polls = new Map();     // id -> poll (last known state)
        this.cards = new Map();     // id -> {root, ballot, results, actions, state}
        this.ballots = new Map();   // id -> my choices (this page's memory)
        this.status = el('p', { class: 'note polls-status', role: 'status' });
        this.creator = el('div', { class: 'poll-create-wrap', hidden: true });
        this.list = el('div', { class: 'poll-list', id: 'poll-list', 'aria-live': 'polite' });
        this.empty = el('p', { class: 'note', text: 'No polls yet.' });
        this.scores = el('section', { class: 'quiz-scores', id: 'quiz-scores', 'aria-label': 'Quiz scores', hidden: true });
        root.append(this.creator, this.status, this.list, this.empty, this.scores);
        this.buildCreator();

        sig.on('joined', (msg) => {
            this.moderator = hasPerm(msg, 'moderate');
            this.creator.hidden = !this.moderator;
            sig.request({ type: 'poll_list' }).then((reply) => {
                this.polls.clear();
                for (const p of reply.polls || []) this.merge(p);
                this.renderAll();
            }).catch((err) => { this.status.textContent = explain(err); });
        });
        sig.on('poll', (p) => {
            const isNew = !this.polls.has(p.id) || (this.polls.get(p.id).state !== p.state && p.state === 'open');
            this.merge(p);
            this.renderPoll(p.id);
            if (isNew) this.onNew?.();
        });
        sig.on('poll_results', (m) => {
            const p = this.polls.get(m.poll);
            if (!p) return;
            p.counts = m.counts;
            p.voters = m.voters;
            this.renderPoll(p.id);
        });
        sig.on('quiz_scores', (m) => this.renderScores(m));
    }

    // Updates sent to the whole room leave out a quiz's correct options
    // until it closes; a moderator keeps the ones it already knows.
    merge(p) {
        const old = this.polls.get(p.id);
        const next = { ...old, ...p };
        if (old?.correct && !p.correct) next.correct = old.correct;
        this.polls.set(p.id, next);
        return next;
    }

    // ---- creating (moderators) ---------------------------------------------

    buildCreator() {
        const question = el('input', { id: 'poll-question', maxlength: 500, placeholder: 'What should we ask?' });
        const options = el('ol', { class: 'poll-options-edit', 'aria-label': 'Options' });
        const multiple = el('select', { id: 'poll-kind' },
            el('option', { value: 'single', text: 'One answer' }),
            el('option', { value: 'multiple', text: 'Several answers' }));
        const quiz = el('input', { type: 'checkbox', id: 'poll-quiz' });
        const openNow = el('input', { type: 'checkbox', id: 'poll-open-now', checked: true });
        const addOption = () => {
            if (options.children.length >= MAX_OPTIONS) return;
            const n = options.children.length + 1;
            const text = el('input', {
                class: 'poll-option-text', maxlength: 100, 'aria-label': `Option ${n}`, placeholder: `Option ${n}`,
            });
            const correct = el('input', { type: 'checkbox', class: 'poll-option-correct', 'aria-label': `Option ${n} is correct` });
            const row = el('li', {}, text,
                el('label', { class: 'toggle correct-toggle' }, correct, ' correct'));
            options.append(row);
        };
        addOption();
        addOption();
        const more = el('button', { type: 'button', text: 'Add option', onclick: () => addOption() });
        const showCorrect = () => this.creator.classList.toggle('is-quiz', quiz.checked);
        quiz.addEventListener('change', showCorrect);
        const create = el('button', { type: 'submit', class: 'primary', text: 'Create poll' });
        const form = el('form', { class: 'poll-create', id: 'poll-create', 'aria-label': 'New poll' },
            el('h3', { text: 'New poll' }),
            el('label', { class: 'field', for: 'poll-question', text: 'Question' }), question,
            el('span', { class: 'field', text: 'Options' }), options, more,
            el('div', { class: 'form-row' },
                el('label', { class: 'field', for: 'poll-kind', text: 'Answers' }), multiple),
            el('label', { class: 'toggle' }, quiz, ' Quiz (mark the correct options)'),
            el('label', { class: 'toggle' }, openNow, ' Open at once'),
            create);
        form.addEventListener('submit', async (ev) => {
            ev.preventDefault();
            const rows = [...options.children];
            const texts = rows.map((r) => r.querySelector('.poll-option-text').value.trim());
            const kept = rows.filter((_, i) => texts[i]);
            const msg = {
                type: 'poll_create',
                question: question.value.trim(),
                options: texts.filter(Boolean),
                multiple: multiple.value === 'multiple',
                quiz: quiz.checked,
                open: openNow.checked,
            };
            if (quiz.checked) {
                msg.correct = kept.map((r, i) => (r.querySelector('.poll-option-correct').checked ? i : -1))
                    .filter((i) => i >= 0);
            }
            if (!msg.question || msg.options.length < 2) {
                this.status.textContent = 'A poll needs a question and at least two options.';
                return;
            }
            if (quiz.checked && msg.correct.length === 0) {
                this.status.textContent = 'Mark at least one correct option for a quiz.';
                return;
            }
            create.disabled = true;
            try {
                const reply = await this.sig.request(msg);
                this.merge(reply);
                this.renderPoll(reply.id);
                question.value = '';
                options.replaceChildren();
                addOption();
                addOption();
                this.status.textContent = msg.open ? 'Poll created and opened.' : 'Poll created (draft).';
            } catch (err) {
                this.status.textContent = explain(err);
            } finally {
                create.disabled = false;
            }
        });
        this.creator.append(form);
    }

    // ---- showing -----------------------------------------------------------

    renderAll() {
        for (const id of [...this.cards.keys()]) {
            if (!this.polls.has(id)) {
                this.cards.get(id).root.remove();
                this.cards.delete(id);
            }
        }
        for (const id of [...this.polls.keys()].sort((a, b) => a - b)) this.renderPoll(id);
        this.empty.hidden = this.polls.size > 0;
    }

    renderPoll(id) {
        const p = this.polls.get(id);
        if (!p) return;
        // The audience never sees drafts (the server does not send them).
        let card = this.cards.get(id);
        if (!card) {
            card = {
                head: el('h3', { class: 'poll-question' }),
                meta: el('p', { class: 'poll-meta note' }),
                ballot: el('div', { class: 'poll-ballot' }),
                results: el('ol', { class: 'poll-results', 'aria-label': 'Results' }),
                verdict: el('p', { class: 'poll-verdict' }),
                actions: el('div', { class: 'row-actions' }),
                ballotFor: null,
            };
            card.root = el('article', { class: 'poll', dataset: { id } },
                card.head, card.meta, card.ballot, card.results, card.verdict, card.actions);
            this.cards.set(id, card);
            // Newest first.
            this.list.prepend(card.root);
        }
        card.root.dataset.state = p.state;
        card.head.textContent = p.question ?? '';
        const kind = p.quiz ? 'Quiz' : 'Poll';
        const answers = p.multiple ? 'several answers' : 'one answer';
        const state = { draft: 'draft', open: 'open', closed: 'closed' }[p.state] || p.state;
        card.meta.textContent = `${kind} · ${answers} · ${state} · ${p.voters ?? 0} voter${p.voters === 1 ? '' : 's'}`;

        const mine = this.ballots.get(id);
        const canVote = !this.moderator && p.state === 'open' && !mine;
        if (canVote && card.ballotFor !== id) this.buildBallot(card, p);
        if (!canVote) {
            card.ballot.replaceChildren();
            card.ballotFor = null;
        }
        const showResults = this.moderator || p.state === 'closed' || !!mine;
        const counts = Array.isArray(p.counts) ? p.counts : [];
        const total = p.voters ?? 0;
        const correct = new Set(Array.isArray(p.correct) ? p.correct : []);
        card.results.replaceChildren(...(showResults ? (p.options || []).map((opt, i) => resultBar(opt,
            counts[i] ?? 0, total, { correct: correct.has(i), mine: !!mine?.includes(i) })) : []));
        card.results.hidden = !showResults;

        card.verdict.textContent = '';
        if (p.quiz && p.state === 'closed' && !this.moderator) {
            const right = (p.options || []).filter((_, i) => correct.has(i)).join(', ');
            if (mine?.length) {
                const ok = mine.length === correct.size && mine.every((i) => correct.has(i));
                card.verdict.textContent = `${ok ? 'You got it right!' : 'Not quite.'} Correct answer: ${right}`;
                card.verdict.dataset.result = ok ? 'right' : 'wrong';
            } else {
                card.verdict.textContent = `Correct answer: ${right}`;
            }
        } else if (mine && p.state === 'open') {
            card.verdict.textContent = 'Thanks for voting. Results update live.';
        }

        card.actions.replaceChildren();
        if (this.moderator) {
            if (p.state === 'draft') {
                card.actions.append(actionButton('Open', () => this.sig.request({ type: 'poll_open', poll: id }),
                    { statusEl: this.status, label: `Open poll: ${p.question}` }));
            } else if (p.state === 'open') {
                card.actions.append(actionButton('Close', () => this.sig.request({ type: 'poll_close', poll: id }),
                    { statusEl: this.status, label: `Close poll: ${p.question}` }));
            }
            if (p.quiz) {
                card.actions.append(actionButton('Quiz scores', async () => {
                    this.renderScores(await this.sig.request({ type: 'quiz_scores' }));
                }, { statusEl: this.status }));
            }
        }
        this.empty.hidden = this.polls.size > 0;
    }

    buildBallot(card, p) {
        const name = `poll-${p.id}`;
        const inputs = (p.options || []).map((opt, i) => el('label', { class: 'ballot-option' },
            el('input', { type: p.multiple ? 'checkbox' : 'radio', name, value: String(i) }), ` ${opt}`));
        const note = el('p', { class: 'note', role: 'status' });
        const vote = el('button', { type: 'submit', class: 'primary', text: 'Vote' });
        const form = el('form', { class: 'ballot', 'aria-label': `Vote: ${p.question}` },
            el('fieldset', {}, el('legend', { class: 'visually-hidden', text: p.question ?? '' }), ...inputs),
            vote, note);
        form.addEventListener('submit', async (ev) => {
            ev.preventDefault();
            const choices = [...form.querySelectorAll('input:checked')].map((x) => Number(x.value));
            if (choices.length === 0) {
                note.textContent = p.multiple ? 'Pick at least one option.' : 'Pick an option.';
                return;
            }
            vote.disabled = true;
            try {
                await this.sig.request({ type: 'poll_vote', poll: p.id, choices });
                this.ballots.set(p.id, choices);
            } catch (err) {
                if (err.code !== 'already-voted') {
                    note.textContent = explain(err);
                    vote.disabled = false;
                    return;
                }
                // Voted from another tab or before a reconnect: show the results.
                this.ballots.set(p.id, []);
            }
            this.renderPoll(p.id);
        });
        card.ballot.replaceChildren(form);
        card.ballotFor = p.id;
    }

    renderScores(m) {
        const scores = Array.isArray(m.scores) ? m.scores : [];
        this.scores.hidden = false;
        this.scores.replaceChildren(
            el('h3', { text: `Quiz scores (${m.quizzes ?? 0} quiz${m.quizzes === 1 ? '' : 'zes'})` }),
            scores.length
                ? el('ol', { class: 'score-list' }, ...scores.map((s) => el('li', {},
                    el('span', { class: 'who', text: s.name || s.user_id }), ' ',
                    el('span', { class: 'score', text: `${s.score} point${s.score === 1 ? '' : 's'}` }))))
                : el('p', { class: 'note', text: 'Nobody has scored yet.' }));
    }
}
