/** A destination in the side navigation. */
export interface NavLink {
  path: string;
  label: string;
  /** A Material Symbols name. */
  icon: string;
}

export const NAV_LINKS: readonly NavLink[] = [
  { path: '/connections', label: 'Connections', icon: 'link' },
  { path: '/service-keys', label: 'Service keys', icon: 'key' },
  { path: '/connect-links', label: 'Connect links', icon: 'forward_to_inbox' },
  { path: '/audit', label: 'Audit', icon: 'history' },
  { path: '/system', label: 'System', icon: 'monitor_heart' },
];
