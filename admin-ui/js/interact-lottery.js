// Lottery (docs/protocol.md, "Interactions").  A moderator draws winners
// among everyone watching, the checked-in, or those who answered a quiz
// right; the whole room is told the result, and a winner's page says so.

import { actionButton, el, hasPerm } from './interact-ui.js';

function winnersText(m) {
    const names = (m.winners || []).map((w) => w.name || w.user_id);
    return names.length ? names.join(', ') : 'nobody (no one was eligible)';
}

const AMONG = {
    present: 'everyone watching',
    checked_in: 'everyone who checked in',
    correct: 'right quiz answers',
};

// The audience's announcement of a draw.
export class LotteryNotice {
    constructor(root, sig) {
        this.root = root;
        this.userId = null;
        this.moderator = false;
        root.classList.add('notice-card', 'lottery-notice');
        root.setAttribute('role', 'region');
        root.setAttribute('aria-label', 'Lottery result');
        root.hidden = true;
        this.title = el('p', { class: 'notice-title' });
        this.winners = el('p', { class: 'lottery-winners' });
        this.mine = el('p', { class: 'lottery-mine', role: 'status' });
        root.append(this.title, this.winners, this.mine,
            el('button', { type: 'button', text: 'Dismiss', onclick: () => { root.hidden = true; } }));
        sig.on('joined', (msg) => {
            this.userId = msg.user_id ?? null;
            this.moderator = hasPerm(msg, 'moderate');
        });
        sig.on('lottery', (m) => this.show(m));
    }

    show(m) {
        if (this.moderator) return;   // the panel that drew shows it
        const won = (m.winners || []).some((w) => w.user_id === this.userId);
        this.root.hidden = false;
        this.root.classList.toggle('won', won);
        this.title.textContent = m.prize ? `Lottery: ${m.prize}` : 'Lottery';
        this.winners.textContent = `Winners: ${winnersText(m)}`;
        this.mine.textContent = won ? '🎉 You won!' : 'Not this time.';
    }
}

// The moderators' panel.  getQuizzes(): the closed quizzes known to the
// page, [{id, question}], for "right quiz answers".
export class LotteryAdmin {
    constructor(root, sig, { getQuizzes } = {}) {
        this.sig = sig;
        this.getQuizzes = getQuizzes || (() => []);
        const count = el('input', { type: 'number', id: 'lottery-count', min: 1, max: 1000, value: 1 });
        const among = el('select', { id: 'lottery-among' },
            ...Object.entries(AMONG).map(([value, text]) => el('option', { value, text: `Among ${text}` })));
        const quiz = el('select', { id: 'lottery-quiz', 'aria-label': 'Quiz' });
        const quizRow = el('div', { class: 'form-row', hidden: true },
            el('label', { class: 'field', for: 'lottery-quiz', text: 'Quiz' }), quiz);
        const prize = el('input', { id: 'lottery-prize', maxlength: 100, placeholder: 'e.g. a T-shirt' });
        const exclude = el('input', { type: 'checkbox', id: 'lottery-exclude', checked: true });
        this.status = el('p', { class: 'note', role: 'status' });
        this.results = el('ol', { class: 'lottery-results', id: 'lottery-results', 'aria-live': 'polite' });
        const fillQuizzes = () => {
            const keep = quiz.value;
            quiz.replaceChildren(el('option', { value: '', text: 'Every closed quiz' }),
                ...this.getQuizzes().map((q) => el('option', { value: String(q.id), text: q.question })));
            quiz.value = [...quiz.options].some((o) => o.value === keep) ? keep : '';
        };
        among.addEventListener('change', () => {
            quizRow.hidden = among.value !== 'correct';
            if (!quizRow.hidden) fillQuizzes();
        });
        quiz.addEventListener('focus', fillQuizzes);
        const draw = actionButton('Draw', async () => {
            const n = Number(count.value);
            if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error('Draw 1 to 1000 winners.');
            const msg = { type: 'lottery_draw', count: n, among: among.value, exclude_winners: exclude.checked };
            if (prize.value.trim()) msg.prize = prize.value.trim();
            if (among.value === 'correct' && quiz.value) msg.poll = Number(quiz.value);
            await sig.request(msg);
        }, { statusEl: this.status, cls: 'primary' });
        root.append(
            el('div', { class: 'form-row' }, el('label', { class: 'field', for: 'lottery-count', text: 'Winners' }), count),
            el('label', { class: 'field', for: 'lottery-among', text: 'Draw' }), among, quizRow,
            el('label', { class: 'field', for: 'lottery-prize', text: 'Prize' }), prize,
            el('label', { class: 'toggle' }, exclude, ' Skip earlier winners'),
            draw, this.status,
            el('h3', { text: 'Results' }), this.results);
        sig.on('lottery', (m) => this.add(m));
    }

    add(m) {
        const li = el('li', { class: 'lottery-result', dataset: { id: m.id } },
            el('strong', { text: m.prize || 'Lottery' }),
            el('span', { class: 'detail', text: ` · among ${AMONG[m.among] || m.among} · ${(m.winners || []).length} of ${m.eligible ?? 0} eligible` }),
            el('p', { class: 'lottery-winners', text: `Winners: ${winnersText(m)}` }));
        this.results.prepend(li);
    }
}
