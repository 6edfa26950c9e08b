/** The microphone chosen on the settings page (client-side only; used by the conversation). */

export const MIC_KEY = "avatar.micId";

/** The chosen microphone's deviceId, or null for the system default. */
export function getMicId(): string | null {
  try {
    return window.localStorage.getItem(MIC_KEY) || null;
  } catch {
    return null;
  }
}

export function setMicId(deviceId: string | null): void {
  try {
    if (deviceId) window.localStorage.setItem(MIC_KEY, deviceId);
    else window.localStorage.removeItem(MIC_KEY);
  } catch {
    /* private mode: the default microphone is used */
  }
}

/** Audio constraints for getUserMedia with the chosen microphone (exact id when one is chosen). */
export function micConstraints(extra: MediaTrackConstraints = {}): MediaTrackConstraints {
  const id = getMicId();
  return id ? { ...extra, deviceId: { exact: id } } : extra;
}

/** Audio inputs the browser knows (labels are empty until the page was allowed to use the microphone). */
export async function listMicrophones(): Promise<MediaDeviceInfo[]> {
  if (!navigator.mediaDevices?.enumerateDevices) return [];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((d) => d.kind === "audioinput");
}
