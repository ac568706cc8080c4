(() => { const LM = (window.LoraManager = window.LoraManager || {}); (LM.i18nParts = LM.i18nParts || []).push({ name: 'civitai', en: {}, 'zh-CN': {} }); })();
