import { en, type Messages } from './en.ts';
import { it } from './it.ts';

export type Lang = 'en' | 'it';
export type { Messages };

export const LANGS: readonly Lang[] = ['en', 'it'];
const STORAGE_KEY = 'filo.lang';
const dictionaries: Record<Lang, Messages> = { en, it };

/** The browser's choice: Italian if its language starts with "it", English otherwise. */
function browserLang(): Lang {
  const preferred = typeof navigator === 'undefined' ? [] : (navigator.languages ?? [navigator.language]);
  return preferred[0]?.toLowerCase().startsWith('it') ? 'it' : 'en';
}

function storedLang(): Lang | null {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return value === 'en' || value === 'it' ? value : null;
  } catch {
    return null;
  }
}

/** The language of the interface: stored in localStorage once chosen, the browser's language until then. */
class Locale {
  lang = $state<Lang>(storedLang() ?? browserLang());
  readonly messages = $derived(dictionaries[this.lang]);
  /** For `Intl` formatters. */
  readonly tag = $derived(this.lang === 'it' ? 'it-IT' : 'en-GB');

  set(lang: Lang): void {
    this.lang = lang;
    try {
      localStorage.setItem(STORAGE_KEY, lang);
    } catch {
      // Private mode or storage disabled: the choice lasts for this page only.
    }
  }
}

export const locale = new Locale();

/** The strings of the current language; reading it in a template or `$derived` re-renders on a switch. */
export function t(): Messages {
  return locale.messages;
}
