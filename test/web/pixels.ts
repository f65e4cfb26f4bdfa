/** Screenshots judged in the page: how many colours a part of it shows (a blank one shows one or two). */
import type { Locator, Page } from 'playwright-core';

/** The number of distinct colours in a screenshot of `what`, decoded by the page itself. */
export async function colours(page: Page, what: Locator): Promise<number> {
  const png = (await what.screenshot()).toString('base64');
  return page.evaluate(async (b64) => {
    const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
    const c = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d')!;
    c.drawImage(bitmap, 0, 0);
    const d = c.getImageData(0, 0, bitmap.width, bitmap.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  }, png);
}
