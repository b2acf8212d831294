/** English strings of the call page's preview and failures, live meeting invitations and the development outbox. */
export const meetingsMoreEn = {
  call: {
    retry: 'Retry',
    back: 'Back',
    previewHeading: 'Check your camera and microphone',
    previewLabel: 'Your camera',
    previewStarting: 'Starting your camera…',
    previewNone: 'No camera or microphone found, or access was refused: you can still join without them.',
    micLevel: 'Microphone level',
  },
  meetings: {
    scheduleButton: 'Schedule a meeting',
    emptyHint: 'Schedule a video call and invite teammates and contacts: they get the invitation at once.',
    invitedToast: (who: string) => `${who} invited you to a video call`,
    invitedYou: (who: string, title: string) => `${who} invited you to the video call “${title}”`,
    invitedAt: (who: string, title: string, when: string) =>
      `${who} invited you to the video call “${title}” · ${when}`,
  },
  outbox: {
    views: 'Show the message as',
    text: 'Text',
    html: 'HTML',
    raw: 'Raw',
    rawLoading: 'Loading the raw message…',
    updated: (n: number) => (n === 1 ? '1 message kept' : `${n} messages kept`),
  },
};
