// Pieces the console's Events pages share (js/admin-events.js and
// js/admin-event-lists.js): buttons, copying, times and addresses.
import { el } from './util.js';

export function button(label, onClick, cls, ariaLabel) {
    const b = el('button', { type: 'button', textContent: label });
    if (cls) b.className = cls;
    if (ariaLabel) b.setAttribute('aria-label', ariaLabel);
    b.addEventListener('click', onClick);
    return b;
}

// To the clipboard; where the Clipboard API is refused, the old way
// through a selected input.
export async function copyText(text, input, btn) {
    let ok = false;
    try {
        await navigator.clipboard.writeText(text);
        ok = true;
    } catch {
        if (input) {
            input.select();
            ok = document.execCommand('copy');
        }
    }
    if (btn) {
        const label = btn.textContent;
        btn.textContent = ok ? 'Copied' : 'Select and copy';
        setTimeout(() => { btn.textContent = label; }, 2000);
    }
    return ok;
}

export function localTime(unix) {
    return new Date(unix * 1000).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

export const absolute = (path) => new URL(path, window.location.origin).href;

export const plural = (n, one, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;
