/*
 * LoRA Manager: prompt autocomplete.
 *
 * In the host's prompt boxes, typing `<lora:` or two letters of a LoRA's name,
 * title, alias, trigger word or tag lists matching LoRAs; choosing one writes
 * `<lora:PROMPT_NAME:WEIGHT>` (the name the host resolves, never the alias).
 *
 * - The index comes from GET /lora-manager/v1/autocomplete once, then is asked
 *   again with If-None-Match (a 304 while nothing changed) every minute while
 *   the page is visible and when the window gets focus.
 * - Search runs on a sorted key table built once: every keystroke is a binary
 *   search plus a walk over the matching keys' postings (no scan of the library).
 * - Keys are handled only while our list is open, in the capture phase, and only
 *   those we use are stopped, so the host's own autocomplete keeps working.
 * - Library text is untrusted: everything is rendered with textContent.
 *
 * Works without the host's helpers (onUiLoaded, gradioApp, opts): events are
 * delegated from the window, so prompt boxes that appear later are covered.
 */
(function () {
  'use strict';

  if (window.loraManagerAutocomplete) return; // loaded twice (host reload)

  var API = '/lora-manager/v1';
  var BOXES = ['txt2img_prompt', 'txt2img_neg_prompt', 'img2img_prompt', 'img2img_neg_prompt', 'control_prompt', 'control_neg_prompt'];
  var BOX_SELECTOR = BOXES.map(function (id) { return '#' + id + ' textarea'; }).join(', ') + ', textarea[data-lora-manager-autocomplete]';
  var LIMIT = 20;
  var POLL_MS = 60000;
  var FOCUS_MIN_MS = 5000;
  var SEPARATORS = /[\s_\-.,;:/\\|()[\]{}<>'"!?+*=#~`^&%$@]+/g;
  // kinds of field, best first in ties: 3 name, 2 title/alias, 1 trigger word, 0 tag
  var KIND_NAME = 3, KIND_TITLE = 2, KIND_TRIGGER = 1, KIND_TAG = 0;

  var state = {
    index: null, // prepared index (see prepare)
    version: null,
    loading: null,
    lastCheck: 0,
    ta: null, // the textarea the list belongs to
    ctx: null, // the text range being completed
    results: [],
    active: 0,
    list: null,
    suppress: false,
    lastSearchMs: 0,
  };

  // ------------------------------------------------------------------ settings

  function hostOpts() {
    try {
      // a global declared with let/var by the host page, or a property of window
      // eslint-disable-next-line no-undef
      if (typeof opts !== 'undefined' && opts) return opts;
    } catch (e) { /* not declared */ }
    return window.opts || {};
  }

  function setting(key, fallback) {
    var o = hostOpts();
    var v = o[key];
    return v === undefined || v === null || v === '' ? fallback : v;
  }

  function enabled() { return setting('lora_manager_autocomplete', true) !== false; }

  function apiBase() {
    if (typeof window.loraManagerApiBase === 'string') return window.loraManagerApiBase.replace(/\/+$/, '');
    if (typeof window.subpath === 'string') return window.subpath.replace(/\/+$/, '') + API; // SDNext
    var root = window.gradio_config && window.gradio_config.root;
    var path = '';
    if (typeof root === 'string' && root) {
      try { path = new URL(root, window.location.href).pathname.replace(/\/+$/, ''); } catch (e) { path = ''; }
    }
    return path + API;
  }

  function requestHeaders() {
    var h = {};
    if (typeof window.loraManagerApiKey === 'string' && window.loraManagerApiKey) h['X-API-Key'] = window.loraManagerApiKey;
    return h;
  }

  // ------------------------------------------------------------------ index

  function normalize(text) {
    return String(text).toLowerCase().replace(SEPARATORS, ' ').trim();
  }

  function splitCamel(text) {
    return String(text).replace(/([a-z0-9])([A-Z])/g, '$1 $2');
  }

  var SLICE = 5000; // entries per slice while preparing: the page stays responsive meanwhile

  /**
   * Build the sorted key table from the server's columns, in slices between which
   * the page keeps running. Calls done(index). `sync` does it in one go (tests).
   */
  function prepare(payload, done, sync) {
    var t0 = performance.now();
    var c = payload.columns;
    var n = c.id.length;
    var map = new Map();
    var memo = new Map(); // tags repeat across the library: normalise each once
    var add = function (key, e, code) {
      var v = e * 8 + code;
      var list = map.get(key);
      if (list === undefined) map.set(key, [v]);
      else if (list[list.length - 1] !== v) list.push(v);
    };
    var keysOf = function (text, kind) {
      var norm = normalize(kind === KIND_NAME ? splitCamel(text) : text);
      if (!norm) return [];
      if (norm.indexOf(' ') < 0) return [norm];
      // the whole text, the whole without spaces ("mycoollora" finds "My Cool Lora"), then each later word
      return [norm, norm.replace(/ /g, '')].concat(norm.split(' ').slice(1));
    };
    var addField = function (text, e, kind, cache) {
      if (typeof text !== 'string' || !text) return;
      var keys = cache ? memo.get(text) : undefined;
      if (keys === undefined) {
        keys = keysOf(text, kind);
        if (cache) memo.set(text, keys);
      }
      for (var i = 0; i < keys.length; i++) add(keys[i], e, kind * 2 + (i < 2 ? 1 : 0));
    };
    var names = new Array(n);
    var e = 0;
    var slice = function () {
      var stop = sync ? n : Math.min(n, e + SLICE);
      for (; e < stop; e++) {
        addField(c.prompt_name[e], e, KIND_NAME, false);
        if (c.name[e]) addField(c.name[e], e, KIND_NAME, false);
        if (c.title[e]) addField(c.title[e], e, KIND_TITLE, false);
        if (c.alias[e]) addField(c.alias[e], e, KIND_TITLE, false);
        var trig = c.triggers[e];
        for (var i = 0; i < trig.length; i++) addField(trig[i], e, KIND_TRIGGER, true);
        var tags = c.tags[e];
        for (var j = 0; j < tags.length; j++) addField(tags[j], e, KIND_TAG, true);
        names[e] = normalize(c.title[e] ? c.prompt_name[e] + ' ' + c.title[e] : c.prompt_name[e]);
      }
      if (e < n) { setTimeout(slice, 0); return; }
      done(finish());
    };
    var finish = function () {
      var keys = Array.from(map.keys()).sort();
      var start = new Int32Array(keys.length + 1);
      var total = 0;
      for (var k = 0; k < keys.length; k++) { start[k] = total; total += map.get(keys[k]).length; }
      start[keys.length] = total;
      var post = new Int32Array(total);
      for (var k2 = 0, p = 0; k2 < keys.length; k2++) {
        var l = map.get(keys[k2]);
        for (var q = 0; q < l.length; q++) post[p++] = l[q];
      }
      // substring fallback over names: one string, entry boundaries in `offsets`
      var offsets = new Int32Array(n + 1);
      for (var e2 = 0, pos = 0; e2 < n; e2++) { offsets[e2] = pos; pos += names[e2].length + 1; }
      offsets[n] = n ? offsets[n - 1] + names[n - 1].length + 1 : 0;
      // use: how often and how lately, one number per entry (ties on match quality)
      var now = Date.now() / 1000;
      var frecency = new Float64Array(n);
      for (var e3 = 0; e3 < n; e3++) {
        var uses = c.uses[e3] || 0;
        var last = c.last_used[e3];
        var recent = last ? Math.pow(0.5, Math.max(0, now - last) / (14 * 86400)) : 0; // half-life two weeks
        frecency[e3] = uses > 0 ? Math.log2(1 + uses) * 1000 + recent * 4000 : 0;
      }
      // what a bare `<lora:` and one letter list: the most used, then by name
      var pn = c.prompt_name;
      var byUse = Array.from({ length: n }, function (_, i) { return i; }).sort(function (a, b) {
        return frecency[b] - frecency[a] || (pn[a] < pn[b] ? -1 : pn[a] > pn[b] ? 1 : 0);
      });
      return {
        version: payload.version,
        family: payload.checkpoint_family || null,
        count: n,
        c: c,
        keys: keys,
        start: start,
        post: post,
        names: names,
        blob: names.join('\n'),
        offsets: offsets,
        frecency: frecency,
        byUse: byUse,
        best: new Uint8Array(n),
        touched: new Int32Array(n),
        prepareMs: performance.now() - t0,
      };
    };
    slice();
  }

  function lowerBound(keys, q) {
    var lo = 0, hi = keys.length;
    while (lo < hi) {
      var mid = (lo + hi) >>> 1;
      if (keys[mid] < q) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  function entryAt(offsets, pos) {
    var lo = 0, hi = offsets.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >>> 1;
      if (offsets[mid] <= pos) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  function incompatible(idx, e) {
    var base = idx.c.base[e];
    return !!(idx.family && base && base !== idx.family);
  }

  function entry(idx, e, tier) {
    var c = idx.c;
    return {
      index: e, id: c.id[e], prompt_name: c.prompt_name[e], name: c.name[e] || c.prompt_name[e], title: c.title[e],
      alias: c.alias[e], base: c.base[e], weight: c.weight[e], triggers: c.triggers[e], tags: c.tags[e],
      uses: c.uses[e], last_used: c.last_used[e], preview: c.preview[e], incompatible: incompatible(idx, e), tier: tier,
    };
  }

  /**
   * LoRAs matching `query`, best first: match quality (exact > prefix of the whole
   * name/title/trigger/tag > prefix of one of its words > inside the name; name >
   * title/alias > trigger > tag in ties), then use (count and recency).
   * An empty query lists the most used, then the rest by name.
   */
  function search(query, options) {
    var idx = state.index;
    if (!idx) return [];
    var t0 = performance.now();
    var limit = (options && options.limit) || LIMIT;
    var hide = setting('lora_manager_autocomplete_incompatible', 'mark') === 'hide';
    var q = normalize(query || '');
    var out = [];
    if (q.length < 2) {
      // nothing or one letter: the most used whose name or title starts so, without walking
      // the postings of every key under that letter (a tenth of the library)
      for (var u = 0; u < idx.byUse.length && out.length < limit; u++) {
        var eu = idx.byUse[u];
        if (q && idx.names[eu].charAt(0) !== q && idx.names[eu].indexOf(' ' + q) < 0) continue;
        if (!(hide && incompatible(idx, eu))) out.push(entry(idx, eu, 0));
      }
      state.lastSearchMs = performance.now() - t0;
      return out;
    }
    var best = idx.best, touched = idx.touched, nt = 0;
    var keys = idx.keys, start = idx.start, post = idx.post;
    for (var k = lowerBound(keys, q); k < keys.length; k++) {
      var key = keys[k];
      if (key.lastIndexOf(q, 0) !== 0) break;
      var exact = key.length === q.length;
      for (var p = start[k], end = start[k + 1]; p < end; p++) {
        var v = post[p], e = v >> 3, code = v & 7;
        var tier = ((code & 1) ? (exact ? 3 : 2) : 1) * 4 + (code >> 1) + 1;
        if (tier > best[e]) { if (best[e] === 0) touched[nt++] = e; best[e] = tier; }
      }
    }
    if (nt < limit && q.length >= 3) { // inside a name: "cyber" finds "neocyberpunk"
      var blob = idx.blob, at = blob.indexOf(q), hits = 0;
      while (at >= 0 && hits < 5000) {
        var e2 = entryAt(idx.offsets, at);
        if (best[e2] === 0) { touched[nt++] = e2; best[e2] = KIND_NAME + 1; }
        hits++;
        at = blob.indexOf(q, idx.offsets[e2 + 1]); // next entry
      }
    }
    // best `limit` by score, in one pass with a small sorted buffer
    var topE = [], topS = [];
    var frec = idx.frecency, names = idx.c.prompt_name;
    for (var i = 0; i < nt; i++) {
      var en = touched[i];
      var bad = incompatible(idx, en);
      if (bad && hide) continue;
      // quality first; use within a quality; an unfitting base last within its quality
      var score = best[en] * 1e7 + (bad ? 0 : 5e6) + Math.min(frec[en], 4.9e6) - names[en].length * 1e-3;
      if (topS.length === limit && score <= topS[limit - 1]) continue;
      var j = topS.length;
      if (j === limit) j--;
      while (j > 0 && topS[j - 1] < score) { topS[j] = topS[j - 1]; topE[j] = topE[j - 1]; j--; }
      topS[j] = score; topE[j] = en;
    }
    for (var r = 0; r < topE.length; r++) out.push(entry(idx, topE[r], best[topE[r]]));
    for (var z = 0; z < nt; z++) best[touched[z]] = 0;
    state.lastSearchMs = performance.now() - t0;
    return out;
  }

  /** Use `payload` (the route's JSON) as the index; resolves once it is prepared. */
  function setIndex(payload, sync) {
    return new Promise(function (resolve) {
      prepare(payload, function (idx) {
        state.index = idx;
        state.version = payload.version;
        resolve(idx);
      }, sync);
    });
  }

  /** Load the index, or check it is current (304). Resolves to the prepared index or null. */
  function load() {
    if (state.loading) return state.loading;
    state.lastCheck = Date.now();
    var lm = window.LoraManager || {};
    // The host's credentials (SDNext --auth) and a standalone API key, from lora_manager_auth.js.
    var auth = typeof lm.authHeaders === 'function' ? lm.authHeaders() : Promise.resolve({});
    state.loading = auth.catch(function () { return {}; }).then(function (extra) {
      var headers = requestHeaders();
      for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k) && !headers[k]) headers[k] = extra[k];
      if (state.version) headers['If-None-Match'] = '"' + state.version + '"';
      // First load: the browser's cache revalidates for us across page loads;
      // later checks: our own If-None-Match, so a 304 reaches us and costs no parse.
      return fetch(apiBase() + '/autocomplete', { headers: headers, credentials: 'same-origin', cache: state.version ? 'no-store' : 'no-cache' });
    })
      .then(function (r) {
        if (r.status === 304) return state.index;
        if (!r.ok) throw new Error('LoRA Manager autocomplete index: HTTP ' + r.status);
        var tag = (r.headers.get('etag') || '').replace(/^W\//, '').replace(/"/g, '');
        if (tag && tag === state.version) return state.index;
        return r.json().then(setIndex);
      })
      .catch(function (err) {
        if (window.console) console.warn(err && err.message ? err.message : err);
        return state.index;
      })
      .then(function (idx) { state.loading = null; return idx; });
    return state.loading;
  }

  function maybeRefresh(minMs) {
    if (!enabled() || document.visibilityState === 'hidden') return;
    if (!state.index) return; // never loaded: nothing to keep current (it loads when a prompt box is used)
    if (Date.now() - state.lastCheck >= minMs) load();
  }

  // ------------------------------------------------------------------ context

  /** What is being completed at `caret` in `text`: a `<lora:` tag, or a phrase and its last word. */
  function contextAt(text, caret) {
    var before = text.slice(Math.max(0, caret - 300), caret);
    var lt = before.lastIndexOf('<');
    if (lt >= 0) {
      var m = /^<(?:lora|lyco):([^<>:]*)$/i.exec(before.slice(lt));
      if (m) return { mode: 'tag', start: caret - (before.length - lt), query: m[1], alt: null };
    }
    var phrase = /[^,\n()[\]{}|<>:]*$/.exec(before)[0].replace(/^\s+/, '');
    var word = /[^\s,\n()[\]{}|<>:]*$/.exec(before)[0];
    if (letters(word) < 2 && letters(phrase) < 2) return null;
    var after = text.charAt(caret);
    if (after && /[\p{L}\p{N}_]/u.test(after)) return null; // inside a word
    var ctx = { mode: 'word', start: caret - phrase.length, query: phrase, alt: null };
    if (phrase !== word && letters(word) >= 2) ctx.alt = { start: caret - word.length, query: word };
    return ctx;
  }

  function letters(s) {
    var m = s.match(/\p{L}/gu);
    return m ? m.length : 0;
  }

  function formatWeight(w) {
    var n = Number(w);
    if (!isFinite(n)) n = 1;
    return String(Math.round(n * 100) / 100);
  }

  function insertionFor(item, text, start, caret) {
    var w = item.weight;
    if (w === null || w === undefined) w = setting('extra_networks_default_multiplier', 1);
    var tag = '<lora:' + item.prompt_name + ':' + formatWeight(w) + '>';
    if (!setting('lora_manager_autocomplete_triggers', true) || !item.triggers || !item.triggers.length) return tag;
    var rest = (text.slice(0, start) + ' ' + text.slice(caret)).toLowerCase();
    var words = item.triggers.filter(function (t) { return t && rest.indexOf(String(t).toLowerCase()) < 0; });
    return words.length ? words.join(', ') + ', ' + tag : tag;
  }

  // ------------------------------------------------------------------ list

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  var observer = null;

  function lazyImage(img, src) {
    if (!('IntersectionObserver' in window)) { img.src = src; return; }
    if (!observer) {
      observer = new IntersectionObserver(function (items) {
        items.forEach(function (it) {
          if (it.isIntersecting) { it.target.src = it.target.dataset.src; observer.unobserve(it.target); }
        });
      }, { root: listNode() });
    }
    img.dataset.src = src;
    observer.observe(img);
  }

  function listNode() {
    if (!state.list) {
      var list = el('div', 'lm-ac-list');
      list.id = 'lora_manager_autocomplete';
      list.setAttribute('role', 'listbox');
      list.hidden = true;
      list.addEventListener('mousedown', function (e) { e.preventDefault(); }); // keep the caret in the box
      list.addEventListener('click', function (e) {
        var row = e.target.closest ? e.target.closest('.lm-ac-item') : null;
        if (row) choose(Number(row.dataset.i));
      });
      list.addEventListener('mousemove', function (e) {
        var row = e.target.closest ? e.target.closest('.lm-ac-item') : null;
        if (row && Number(row.dataset.i) !== state.active) setActive(Number(row.dataset.i), false);
      });
      document.body.appendChild(list);
      state.list = list;
    }
    return state.list;
  }

  function previewUrl(item) {
    if (item.preview === null || item.preview === undefined) return null;
    var key = encodeURIComponent(String(item.id));
    if (item.preview === 'cover') return apiBase() + '/loras/' + key + '/cover';
    return apiBase() + '/loras/' + key + '/previews/' + encodeURIComponent(String(item.preview));
  }

  var rows = []; // row elements, reused from keystroke to keystroke (only changed rows are rewritten)

  function rowAt(i) {
    if (!rows[i]) {
      var r = { node: el('div', 'lm-ac-item'), thumb: el('span', 'lm-ac-thumb'), name: el('span', 'lm-ac-name'),
        sub: el('span', 'lm-ac-sub'), base: el('span', 'lm-ac-base'), weight: el('span', 'lm-ac-weight'), key: null };
      var main = el('span', 'lm-ac-main');
      main.appendChild(r.name);
      main.appendChild(r.sub);
      r.node.dataset.i = String(i);
      r.node.setAttribute('role', 'option');
      r.node.appendChild(r.thumb);
      r.node.appendChild(main);
      r.node.appendChild(r.base);
      r.node.appendChild(r.weight);
      listNode().appendChild(r.node);
      rows[i] = r;
    }
    return rows[i];
  }

  function fill(r, item) {
    r.node.className = 'lm-ac-item' + (item.incompatible ? ' lm-ac-incompatible' : '');
    var old = r.thumb.firstChild;
    if (old && observer) observer.unobserve(old);
    r.thumb.textContent = '';
    var src = previewUrl(item);
    if (src) {
      var img = el('img');
      img.alt = '';
      img.decoding = 'async';
      img.onerror = function () {
        // Under SDNext's --auth a plain <img> gets 401: fetch once more with the user's token
        // (lora_manager_auth.js, shared with the tab's images).
        var lm = window.LoraManager || {};
        if (img.dataset.retried || typeof lm.retryImage !== 'function') { img.remove(); return; }
        img.dataset.retried = '1';
        lm.retryImage(img, src).then(function (ok) { if (!ok) img.remove(); });
      };
      r.thumb.appendChild(img);
      lazyImage(img, src);
    }
    r.name.textContent = item.title || item.name;
    var sub = item.prompt_name;
    if (item.triggers && item.triggers.length) sub += ' \u00b7 ' + item.triggers.slice(0, 3).join(', ');
    r.sub.textContent = sub;
    r.base.textContent = item.base || '?';
    r.base.title = item.incompatible ? 'made for ' + item.base + ', the loaded checkpoint is ' + state.index.family : '';
    var w = item.weight === null || item.weight === undefined ? setting('extra_networks_default_multiplier', 1) : item.weight;
    r.weight.textContent = formatWeight(w);
    r.node.title = item.prompt_name;
  }

  function render() {
    var list = listNode();
    if (list.hidden) list.classList.toggle('lm-ac-dark', isDark());
    var results = state.results;
    for (var i = 0; i < results.length; i++) {
      var r = rowAt(i), item = results[i];
      var key = state.version + ':' + item.index + ':' + item.incompatible + ':' + item.weight;
      if (r.key !== key) { fill(r, item); r.key = key; }
      r.node.hidden = false;
    }
    for (var j = results.length; j < rows.length; j++) rows[j].node.hidden = true;
    list.scrollTop = 0;
    setActive(0, false);
  }

  function setActive(i, scroll) {
    var n = state.results.length;
    if (!state.list || !n) return;
    var previous = rows[state.active];
    state.active = (i + n) % n;
    if (previous) { previous.node.classList.remove('lm-ac-active'); previous.node.setAttribute('aria-selected', 'false'); }
    var row = rows[state.active].node;
    row.classList.add('lm-ac-active');
    row.setAttribute('aria-selected', 'true');
    if (scroll && row.scrollIntoView) row.scrollIntoView({ block: 'nearest' });
  }

  function isOpen() { return !!(state.list && !state.list.hidden && state.results.length); }

  function close() {
    if (state.list) state.list.hidden = true;
    state.results = [];
    state.ctx = null;
  }

  function isDark() {
    var nodes = [document.documentElement, document.body, document.querySelector('.gradio-container')];
    for (var i = 0; i < nodes.length; i++) if (nodes[i] && nodes[i].classList.contains('dark')) return true;
    return false;
  }

  /** Colours of the box the list belongs to, so it follows any host theme. */
  function themeFrom(ta, list) {
    var cs = getComputedStyle(ta);
    var bg = 'transparent';
    for (var node = ta; node && node.nodeType === 1; node = node.parentElement || (node.getRootNode && node.getRootNode().host)) {
      var b = getComputedStyle(node).backgroundColor;
      if (b && b !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(b)) { bg = b; break; }
    }
    list.style.setProperty('--lm-ac-fg', cs.color);
    if (bg !== 'transparent') list.style.setProperty('--lm-ac-bg', bg);
    list.style.fontFamily = cs.fontFamily;
  }

  var MIRROR_PROPS = ['boxSizing', 'width', 'height', 'overflowX', 'overflowY', 'borderTopWidth', 'borderRightWidth',
    'borderBottomWidth', 'borderLeftWidth', 'paddingTop', 'paddingRight', 'paddingBottom', 'paddingLeft', 'fontStyle',
    'fontVariant', 'fontWeight', 'fontStretch', 'fontSize', 'lineHeight', 'fontFamily', 'textAlign', 'textTransform',
    'textIndent', 'letterSpacing', 'wordSpacing', 'tabSize', 'whiteSpace', 'wordWrap', 'wordBreak'];

  var caretCache = { ta: null, start: -1, before: null, width: -1, at: null };

  /** Where text position `pos` sits inside a textarea's content box (a hidden mirror of the text
   * before it), cached while that text and the box width stay the same: typing after it moves nothing. */
  function caretOffset(ta, pos) {
    var before = ta.value.slice(0, pos);
    var cc = caretCache;
    if (cc.ta === ta && cc.start === pos && cc.before === before && cc.width === ta.clientWidth) return cc.at;
    var cs = getComputedStyle(ta);
    var mirror = document.createElement('div');
    var style = mirror.style;
    MIRROR_PROPS.forEach(function (p) { style[p] = cs[p]; });
    style.position = 'absolute';
    style.visibility = 'hidden';
    style.top = '0';
    style.left = '-9999px';
    style.whiteSpace = 'pre-wrap';
    style.wordWrap = 'break-word';
    mirror.textContent = before;
    var mark = document.createElement('span');
    mark.textContent = ta.value.slice(pos, pos + 1) || '.';
    mirror.appendChild(mark);
    document.body.appendChild(mirror);
    var line = parseFloat(cs.lineHeight) || parseFloat(cs.fontSize) * 1.3 || 16;
    var at = { left: mark.offsetLeft, top: mark.offsetTop, height: line };
    mirror.remove();
    caretCache = { ta: ta, start: pos, before: before, width: ta.clientWidth, at: at };
    return at;
  }

  function caretRect(ta, pos) {
    var at = caretOffset(ta, pos);
    var rect = ta.getBoundingClientRect();
    return {
      left: Math.min(Math.max(rect.left + at.left - ta.scrollLeft, rect.left), rect.right),
      top: Math.min(Math.max(rect.top + at.top - ta.scrollTop, rect.top), rect.bottom - at.height),
      height: at.height,
    };
  }

  function position(ta, start, caret) {
    var list = state.list;
    caret = caret || caretRect(ta, start);
    var vw = window.innerWidth, vh = window.innerHeight;
    var h = Math.min(list.scrollHeight, 360);
    var w = list.offsetWidth || 420;
    var left = Math.max(4, Math.min(caret.left, vw - w - 4));
    var below = caret.top + caret.height + 2;
    var top = below;
    if (below + h > vh - 4 && caret.top - h - 2 > 4) top = caret.top - h - 2; // no room below: above the line
    list.style.left = left + 'px';
    list.style.top = Math.max(4, top) + 'px';
    list.style.maxHeight = Math.max(120, Math.min(360, (top === below ? vh - below : caret.top) - 8)) + 'px';
  }

  // ------------------------------------------------------------------ events

  function boxOf(event) {
    var target = event.composedPath ? event.composedPath()[0] : event.target;
    if (!target || target.tagName !== 'TEXTAREA' || !target.matches) return null;
    return target.matches(BOX_SELECTOR) ? target : null;
  }

  function update(ta) {
    if (!enabled()) { close(); return; }
    if (!state.index) {
      load().then(function (idx) { if (idx && document.activeElement === ta) update(ta); });
      return;
    }
    if (ta.selectionStart !== ta.selectionEnd) { close(); return; }
    var ctx = contextAt(ta.value, ta.selectionStart);
    if (!ctx) { close(); return; }
    var results = search(ctx.query);
    if (!results.length && ctx.alt) {
      ctx = { mode: 'word', start: ctx.alt.start, query: ctx.alt.query, alt: null };
      results = search(ctx.query);
    }
    if (!results.length) { close(); return; }
    var list = listNode();
    var opening = list.hidden || state.ta !== ta;
    state.ta = ta;
    state.ctx = ctx;
    state.results = results;
    var t0 = performance.now();
    if (opening) themeFrom(ta, list); // once per opening: it reads styles up the tree
    var caret = caretRect(ta, ctx.start); // before the list changes, so layout is still clean
    var t1 = performance.now();
    render();
    list.hidden = false;
    var t2 = performance.now();
    position(ta, ctx.start, caret);
    state.lastUpdate = { search: state.lastSearchMs, caret: t1 - t0, render: t2 - t1, place: performance.now() - t2 };
  }

  function choose(i) {
    var ta = state.ta, ctx = state.ctx, item = state.results[i];
    if (!ta || !ctx || !item) return;
    var caret = ta.selectionStart;
    var text = ta.value;
    var insert = insertionFor(item, text, ctx.start, caret);
    close();
    state.suppress = true;
    try {
      ta.focus();
      ta.setSelectionRange(ctx.start, caret);
      var done = false;
      try { done = document.execCommand('insertText', false, insert); } catch (e) { done = false; } // keeps undo
      if (!done || ta.value === text) {
        ta.setRangeText(insert, ctx.start, caret, 'end');
      }
      // gradio listens for `input` to learn the new value
      ta.dispatchEvent(new Event('input', { bubbles: true }));
    } finally {
      state.suppress = false;
    }
  }

  function onInput(event) {
    if (state.suppress) return;
    var ta = boxOf(event);
    if (ta) update(ta);
  }

  var CONSUMED = { ArrowDown: 1, ArrowUp: 1, Enter: 1, Tab: 1, Escape: 1, PageDown: 1, PageUp: 1 };

  function onKeyDown(event) {
    if (!isOpen() || event.isComposing) return; // closed: never touch a key
    var ta = boxOf(event);
    if (!ta || ta !== state.ta) return;
    var key = event.key;
    if (event.ctrlKey || event.metaKey || event.altKey || (key === 'Tab' && event.shiftKey) || !CONSUMED[key]) {
      if (key === 'ArrowLeft' || key === 'ArrowRight' || key === 'Home' || key === 'End' || event.ctrlKey || event.metaKey) close();
      return; // not ours: the host and the browser get it
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    if (key === 'ArrowDown') setActive(state.active + 1, true);
    else if (key === 'ArrowUp') setActive(state.active - 1, true);
    else if (key === 'PageDown') setActive(Math.min(state.active + 8, state.results.length - 1), true);
    else if (key === 'PageUp') setActive(Math.max(state.active - 8, 0), true);
    else if (key === 'Escape') close();
    else choose(state.active);
  }

  function onFocusOut(event) {
    var ta = boxOf(event);
    if (ta && ta === state.ta) close();
  }

  function onPointerDown(event) {
    if (!isOpen()) return;
    var path = event.composedPath ? event.composedPath() : [event.target];
    if (path.indexOf(state.list) < 0 && path.indexOf(state.ta) < 0) close();
  }

  function onScroll() {
    if (isOpen() && state.ta && state.ctx) position(state.ta, state.ctx.start);
  }

  function install() {
    window.addEventListener('input', onInput, true);
    window.addEventListener('keydown', onKeyDown, true); // capture: before the box's own listeners
    window.addEventListener('focusout', onFocusOut, true);
    window.addEventListener('mousedown', onPointerDown, true);
    window.addEventListener('resize', onScroll);
    window.addEventListener('scroll', onScroll, true);
    window.addEventListener('focus', function () { maybeRefresh(FOCUS_MIN_MS); });
    document.addEventListener('visibilitychange', function () { maybeRefresh(FOCUS_MIN_MS); });
    setInterval(function () { maybeRefresh(POLL_MS); }, POLL_MS);
    window.addEventListener('focusin', function (event) {
      if (!state.index && !state.loading && enabled() && boxOf(event)) load();
    }, true);
    // Ready before the first keystroke: load once the page has settled.
    // Pages without a prompt box (the standalone tab) load it only when one is used.
    var warm = function () {
      if (enabled() && !state.index && document.querySelector('[id$="_prompt"] textarea')) load();
    };
    if (typeof onUiLoaded === 'function') onUiLoaded(warm); // eslint-disable-line no-undef
    else if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', function () { setTimeout(warm, 500); });
    else setTimeout(warm, 500);
  }

  window.loraManagerAutocomplete = {
    search: search,
    contextAt: contextAt,
    load: load,
    setIndex: setIndex,
    close: close,
    state: state,
    normalize: normalize,
    insertionFor: insertionFor,
  };
  install();
})();
