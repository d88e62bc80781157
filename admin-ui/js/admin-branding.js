// The deployment's default branding in the console's Events tab: what
// every event's watch link and viewer page wear unless the event sets its
// own (GET/PATCH /api/v1/branding).  An emptied field removes that key.
import { $, apiRequest, clearError, showError } from './util.js';

const KEYS = ['color', 'logo_url', 'cover_url', 'background_url', 'page_title', 'landing_text',
    'end_text', 'end_link'];

export class DefaultBranding {
    constructor(root, token) {
        this.root = root;
        this.token = token;
        this.form = $('#default-branding-form', root);
        this.error = $('#default-branding-error', root);
        this.saved = {};
        $('#default-branding', root).addEventListener('toggle', (ev) => {
            if (ev.currentTarget.open) this.load().catch((err) => showError(this.error, err));
        });
        this.form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.save().catch((err) => showError(this.error, err));
        });
    }

    input(key) {
        return this.form.elements[`db-${key}`];
    }

    fill(branding) {
        this.saved = branding;
        for (const key of KEYS) {
            const input = this.input(key);
            input.value = branding[key] ?? '';
            input.removeAttribute('aria-invalid');
        }
        this.form.dataset.state = 'ready';
    }

    async load() {
        clearError(this.error);
        const { branding } = await apiRequest('GET', '/api/v1/branding', { token: this.token });
        this.fill(branding);
    }

    async save() {
        clearError(this.error);
        const body = {};
        for (const key of KEYS) {
            const v = this.input(key).value.trim();
            if (v !== (this.saved[key] ?? '')) body[key] = v;
        }
        this.form.dataset.state = 'saving';
        try {
            const { branding } = await apiRequest('PATCH', '/api/v1/branding', { token: this.token, body });
            this.fill(branding);
            $('#default-branding-note', this.root).textContent = 'Saved: events without their own branding wear it now.';
        } catch (err) {
            // The API names the key it refused ("logo_url must be ...").
            const key = KEYS.find((k) => (err.message || '').includes(k));
            if (key) this.input(key).setAttribute('aria-invalid', 'true');
            this.form.dataset.state = 'error';
            throw err;
        }
    }
}
