// Peer URLs given to member add / update, checked as etcd's types.NewURLs does before anything
// else: http or https, a host:port, no path; none at all is refused too.

import { Errors } from '../errors.js';

export function checkPeerUrls(peerUrls: string[]): void {
  if (peerUrls.length === 0) throw Errors.memberBadUrls();
  for (const u of peerUrls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw Errors.memberBadUrls();
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.port === '' || (url.pathname !== '/' && url.pathname !== '')) throw Errors.memberBadUrls();
  }
}
