/** English strings of the search palette's empty state, the inbox's toasts and empty state, and the phone menu. */
export const polishEn = {
  search: {
    recent: 'Recent',
    actions: 'Quick actions',
    quick: {
      compose: 'Write an email',
      inbox: 'Open the inbox',
      companies: 'Go to companies',
      contacts: 'Go to contacts',
      deals: 'Open the deals board',
      meetings: 'Go to meetings',
      importCompanies: 'Import companies from CSV',
    },
  },
  shell: {
    menu: 'Menu',
    closeMenu: 'Close the menu',
    search: 'Search',
  },
  inbox: {
    newConversation: (mailbox: string) => `New conversation in ${mailbox}`,
    emptyTitle: 'No conversations yet',
    emptyWriteTo: 'Mail sent to this address lands here:',
    emptyWriteToMany: 'Mail sent to these addresses lands here:',
    messages: 'Messages',
  },
};
