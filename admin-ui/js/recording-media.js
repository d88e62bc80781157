// A recording's media for <video> and download links, which cannot send an
// Authorization header: the page asks the server (token in the header) for
// a signed URL of one recording and one purpose, valid a few minutes
// (--media-url-ttl), so no long-lived token ever sits in a URL that proxy
// logs, history or a copied link would keep.

// The signed URL of recording `id` for purpose 'play' or 'download'.
export async function signedMediaUrl(id, purpose, token) {
    const res = await fetch(`/api/recordings/${encodeURIComponent(id)}/media-url?purpose=${purpose}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
        const err = new Error(body?.error?.message || `media URL: HTTP ${res.status}`);
        err.code = body?.error?.code;
        throw err;
    }
    return body.url;
}

// Downloads recording `id` through a signed download URL (the server names
// the file in Content-Disposition).
export async function downloadRecording(id, token) {
    const a = document.createElement('a');
    a.href = await signedMediaUrl(id, 'download', token);
    a.download = '';
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    a.remove();
}

// Plays recordings in a <video> through signed URLs.  A URL expires while
// a long recording plays: the element fetches by ranges as it goes and on
// seeks, and a range asked after the expiry is refused, which the element
// reports as an error.  Then the player asks for a fresh URL and resumes at
// the same time (playing if it was).  Only one fresh URL per failure: if
// that one fails before it loads, the error is real and goes to onError.
// (The alternative, a lifetime long enough to cover any seek, would make
// the URL a long-lived credential again.)
export class SignedPlayer {
    constructor(video, token, onError) {
        this.video = video;
        this.token = token;
        this.onError = onError;
        this.id = null;
        this.loads = 0;          // counts load() calls: a late answer for an older one is dropped
        this.retried = false;    // a fresh URL was fetched since the last successful load
        // Whether playback was wanted: the element pauses itself before it
        // reports a failure, so `paused` no longer says it at the error.
        this.wanted = false;
        video.addEventListener('play', () => { this.wanted = true; });
        video.addEventListener('pause', () => { if (!video.error) this.wanted = false; });
        video.addEventListener('loadeddata', () => { this.retried = false; });
        video.addEventListener('error', () => this.recover());
    }

    async load(id) {
        const n = ++this.loads;
        this.id = id;
        this.retried = false;
        this.wanted = false;
        const url = await signedMediaUrl(id, 'play', this.token);
        if (n !== this.loads) return false;
        this.video.src = url;
        return true;
    }

    // Nothing to play any more (the recording was deleted).
    stop() {
        this.loads++;
        this.id = null;
        this.video.removeAttribute('src');
        this.video.load();
    }

    async recover() {
        const { video } = this;
        const err = video.error;
        if (!this.id || !video.getAttribute('src') || (err && err.code === err.MEDIA_ERR_ABORTED)) return;
        if (this.retried) {
            this.onError(new Error(`the recording cannot be played (${err?.message || `media error ${err?.code}`})`));
            return;
        }
        this.retried = true;
        const at = video.currentTime;
        const playing = this.wanted;
        const n = this.loads;
        let url;
        try {
            url = await signedMediaUrl(this.id, 'play', this.token);
        } catch (e) {
            this.onError(e);
            return;
        }
        if (n !== this.loads) return;
        video.addEventListener('loadedmetadata', () => {
            if (n !== this.loads) return;
            video.currentTime = at;
            if (playing) video.play().catch(() => { /* the controls remain */ });
        }, { once: true });
        video.src = url;
    }
}
