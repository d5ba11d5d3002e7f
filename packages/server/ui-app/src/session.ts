// Who is using the dashboard, and what every screen is given.

export interface Session {
  /** auth is on in the cluster */
  authEnabled: boolean;
  /** the logged-in user (auth on) */
  user?: string;
  /** root (or auth off): may change membership and move the leader */
  isRoot: boolean;
}

export interface Screen {
  id: string;
  title: string;
  /** draws into `root`; the returned function stops timers and streams when the screen is left */
  render(root: HTMLElement, session: Session): () => void;
}
