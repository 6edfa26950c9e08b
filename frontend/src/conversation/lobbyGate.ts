/**
 * The lobby is shown once per page load: after its click the page may play sound and has asked for
 * the microphone, so later conversations (another persona, back from settings) start at once.
 */

let passed = false;

export function lobbyPassed(): boolean {
  return passed;
}

export function passLobby(): void {
  passed = true;
}

/** Tests: a fresh page load. */
export function resetLobby(): void {
  passed = false;
}
