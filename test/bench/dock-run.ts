/** What one dock case measured for one device: the device's view of each file, and go-back-N's resends. */
export interface DockRun {
  loadBytes: number;
  loadSeconds: number;
  unloadBytes: number;
  unloadSeconds: number;
  dataFrames: number;
  resent: number;
}
