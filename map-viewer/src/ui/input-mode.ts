/**
 * Whether the user is on a touch screen right now: the kind of the last pointer that pressed something (a
 * tablet with a keyboard cover switches back and forth), before any press the device's primary pointer.
 */
let touch = matchMedia('(pointer: coarse)').matches;
addEventListener('pointerdown', (e) => (touch = e.pointerType === 'touch' || e.pointerType === 'pen'), { capture: true, passive: true });

export const usingTouch = (): boolean => touch;
