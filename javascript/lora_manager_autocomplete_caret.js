/*
 * LoRA Manager: where the caret of a prompt box sits on screen, for the autocomplete's list
 * (javascript/lora_manager_autocomplete.js). Measured with a hidden mirror of the text before it.
 */
(function () {
  'use strict';

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

  /** The caret at text position `pos` of a textarea, in viewport coordinates (clamped to the box). */
  function caretRect(ta, pos) {
    var at = caretOffset(ta, pos);
    var rect = ta.getBoundingClientRect();
    return {
      left: Math.min(Math.max(rect.left + at.left - ta.scrollLeft, rect.left), rect.right),
      top: Math.min(Math.max(rect.top + at.top - ta.scrollTop, rect.top), rect.bottom - at.height),
      height: at.height,
    };
  }

  window.loraManagerAutocompleteCaret = { rect: caretRect };
})();
