/** Rasterises the report's SVG charts with resvg (a prebuilt native binary from npm; optional at run time). */

/** PNG bytes of an SVG, or null when resvg cannot be loaded on this platform. */
export async function svgToPng(svg: string): Promise<Buffer | null> {
  let Resvg: typeof import('@resvg/resvg-js').Resvg;
  try {
    ({ Resvg } = await import('@resvg/resvg-js'));
  } catch {
    return null;
  }
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, fitTo: { mode: 'zoom', value: 2 } }).render().asPng();
}
