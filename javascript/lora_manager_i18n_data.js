(() => { const LM = (window.LoraManager = window.LoraManager || {}); (LM.i18nParts = LM.i18nParts || []).push({ name: 'data', en: {}, 'zh-CN': {} }); })();
