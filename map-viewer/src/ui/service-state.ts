import { onLang, t } from '../i18n.ts';

/**
 * "服务暂不可用，正在重试": shown when requests fail because the server or its database is down (5xx, network
 * errors, tiles that fail), and cleared by itself: while shown, `GET /health` is asked every few seconds, and
 * when it answers 200 the banner goes and whoever listens (the map) reloads what failed.
 */
const RETRY_MS = 3000;

class ServiceState {
  private banner: HTMLElement | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly recovered = new Set<() => void>();

  /** Where the banner lives (the map area). */
  mount(el: HTMLElement): void {
    this.banner = el;
    el.setAttribute('role', 'status');
    el.hidden = true;
    onLang(() => (el.textContent = t().unavailable));
  }

  get down(): boolean {
    return this.timer !== null;
  }

  /** A request failed in a way that says the service is down: show the banner and start probing. */
  failed(): void {
    if (this.timer) return;
    if (this.banner) this.banner.hidden = false;
    this.timer = setTimeout(() => void this.probe(), RETRY_MS);
  }

  onRecovered(f: () => void): void {
    this.recovered.add(f);
  }

  private async probe(): Promise<void> {
    const res = await fetch(new URL('health', document.baseURI), { cache: 'no-store' }).catch(() => null);
    if (res?.status !== 200) {
      this.timer = setTimeout(() => void this.probe(), RETRY_MS);
      return;
    }
    this.timer = null;
    if (this.banner) this.banner.hidden = true;
    for (const f of this.recovered) f();
  }
}

export const serviceState = new ServiceState();