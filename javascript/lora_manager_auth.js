/* LoRA Manager: credentials for our API calls inside the host.
 *
 * SDNext guards extension routes with its --auth (HTTP Basic); its own scripts get the
 * signed-in user's token from `${subpath}/token` and send `Basic user:token` (its
 * ui/authWrap.ts). We do the same, once per page, so every LoRA Manager request (tab,
 * autocomplete) carries it. Standalone pages have no /token: no header is added there,
 * and an API key given in the tab is sent as X-API-Key instead.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.authHeaders) return;
  let pending = null;
  let expires = 0;

  LM.authHeaders = function authHeaders() {
    if (!pending || Date.now() > expires) {
      expires = Infinity;
      pending = (async () => {
        const headers = {};
        const key = window.localStorage && localStorage.getItem('lora-manager-api-key');
        if (key) headers['X-API-Key'] = key;
        if (typeof window.subpath !== 'string' && typeof window.authFetch !== 'function') return headers; // not SDNext
        try {
          const res = await fetch(`${window.subpath || ''}/token`, { credentials: 'same-origin' });
          if (res.ok) {
            const data = await res.json();
            if (data && data.user && data.token) {
              headers.Authorization = `Basic ${btoa(`${data.user}:${data.token}`)}`;
              LM.user = String(data.user); // whose recommendation feedback this is
            }
          }
        } catch (err) { /* no token: the host runs without --auth, or is not ready yet */ }
        // A token is kept until a 401 asks again (resetAuth); no token is asked again in 30 s
        // (the host may not have been ready, or its subpath not yet known).
        if (!headers.Authorization) expires = Date.now() + 30000;
        return headers;
      })();
    }
    return pending;
  };
  // A new API key (typed into the tab) or a new sign-in: read again on the next call.
  LM.resetAuth = () => { pending = null; };

  // Images from our API are plain <img src> requests; where the host guards its API (SDNext
  // --auth) they fail, and are fetched once more with the credentials above. The blobs are kept
  // by URL (a redraw reuses them); the oldest are released past a few hundred.
  const blobs = new Map();
  LM.cachedImage = (url) => blobs.get(url);
  /** Load `url` into `img` with credentials; resolves true when it did. */
  LM.retryImage = async function retryImage(img, url) {
    try {
      const headers = await LM.authHeaders();
      if (!Object.keys(headers).length) return false;
      if (!blobs.has(url)) {
        const res = await fetch(url, { headers, credentials: 'same-origin' });
        if (!res.ok) return false;
        blobs.set(url, URL.createObjectURL(await res.blob()));
        if (blobs.size > 400) {
          const [oldest, objectUrl] = blobs.entries().next().value;
          blobs.delete(oldest);
          URL.revokeObjectURL(objectUrl);
        }
      }
      img.src = blobs.get(url);
      return true;
    } catch (err) {
      return false;
    }
  };
})();
