// An event's branding (docs/protocol.md, "Events": the `branding` object of
// GET /api/v1/watch/{slug}) as the watch page and the viewer page show it:
// the page title, the organiser's logo, cover and background images, and
// the end page's text and link.  The server accepts only https:// URLs
// and /paths without spaces, quotes or parentheses; the pages check again
// and hand a URL to the browser only as a property (img.src, a.href, a
// style property with a quoted url()), never inside markup they build.
import { el } from './util.js';

// An image or link URL as the server allows it, or null.
export function brandUrl(value) {
    if (typeof value !== 'string' || value.length > 500) return null;
    if (!/^(https:\/\/|\/(?!\/))/.test(value)) return null;
    for (const ch of value) {
        const c = ch.codePointAt(0);
        if (c <= 0x20 || c === 0x7f || '"\'<>\\()'.includes(ch)) return null;
    }
    return value;
}

// A CSS url() of a checked URL: quoted, every special character escaped.
export function cssUrl(value) {
    const url = brandUrl(value);
    return url ? `url("${CSS.escape(url)}")` : null;
}

// The document title of an event's pages: the organiser's own, else the
// event's title.
export function pageTitle(info) {
    const own = info?.branding?.page_title;
    return typeof own === 'string' && own ? own : `${info?.title || 'Event'} · Stagecast`;
}

// The organiser's image of class `className` in `holder`: made (put in
// place by place(img)), changed or removed as `url` says.
function brandImage(holder, className, url, alt, place) {
    let img = holder.querySelector(`.${className}`);
    if (!url) {
        img?.remove();
        return null;
    }
    if (!img) {
        img = el('img', { className, decoding: 'async' });
        place(img);
    }
    if (img.getAttribute('src') !== url) img.src = url;
    img.alt = alt;
    return img;
}

// The organiser's logo in a page's top bar, after its Stagecast link.
export function showLogo(topbar, info) {
    return brandImage(topbar, 'brand-logo', brandUrl(info?.branding?.logo_url), `Logo of ${info?.title}`,
        (img) => topbar.querySelector('.brand').after(img));
}

// The cover on the landing card, above `before` (its heading).
export function showCover(card, before, info) {
    return brandImage(card, 'watch-cover', brandUrl(info?.branding?.cover_url), `Cover image of ${info?.title}`,
        (img) => before.before(img));
}

// The page's background image, as the --brand-background custom property
// the stylesheet layers under a shade (so text stays readable).
export function showBackground(body, info) {
    const url = cssUrl(info?.branding?.background_url);
    if (url) body.style.setProperty('--brand-background', url);
    else body.style.removeProperty('--brand-background');
    body.classList.toggle('has-background', !!url);
}

// The end page's text and link in `text` (a paragraph) and `link` (an <a>
// in its own paragraph): what the organiser typed, as text; the link opens
// in a new tab without handing it this page.
export function showEnd(text, link, info) {
    const b = info?.branding || {};
    text.textContent = typeof b.end_text === 'string' ? b.end_text : '';
    text.hidden = !text.textContent;
    const url = brandUrl(b.end_link);
    const holder = link.parentElement;
    holder.hidden = !url;
    if (url) {
        link.href = url;
        link.target = '_blank';
        link.rel = 'noopener';
    } else {
        link.removeAttribute('href');
    }
}
