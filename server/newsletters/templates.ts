import { blockDocument, type BlockDocument } from '#contracts/newsletters';
import type { NewsletterTemplate } from '#contracts/campaigns';

/** Starter block documents a campaign may begin from (`POST /campaigns {templateId}`); the footer is always there. */

const footer = (text: string) => ({
  id: 'footer',
  type: 'footer' as const,
  address: 'Your company · Street 1 · 00100 City · Country',
  text,
});

const doc = (settings: Partial<BlockDocument['settings']>, blocks: unknown[]): BlockDocument =>
  blockDocument.parse({
    settings: {
      background: '#f3f4f6',
      contentBackground: '#ffffff',
      textColor: '#111827',
      accent: '#2563eb',
      font: 'sans',
      ...settings,
    },
    blocks,
  });

export const STARTER_TEMPLATES: readonly NewsletterTemplate[] = [
  {
    id: 'announcement',
    name: 'Announcement',
    description: 'One big piece of news: a hero image, a headline, a few lines and a button.',
    content: doc({ accent: '#4f46e5' }, [
      { id: 'spacer-top', type: 'spacer', height: 16 },
      {
        id: 'hero',
        type: 'image',
        src: 'https://placehold.co/1200x600/4f46e5/ffffff/png?text=Big+news',
        alt: 'Our big news',
        width: 600,
      },
      { id: 'title', type: 'heading', text: 'Introducing something new', level: 1, align: 'center' },
      {
        id: 'body',
        type: 'text',
        align: 'center',
        markdown:
          'Hi {{contact.first_name | "there"}},\n\nWe have been working on this for months and we think you will love it. Here is what changes for you, in two minutes.',
      },
      { id: 'cta', type: 'button', label: 'See what’s new', href: 'https://example.com/news', color: '#4f46e5' },
      { id: 'spacer-bottom', type: 'spacer', height: 24 },
      footer('You receive this because you subscribed to our news.'),
    ]),
  },
  {
    id: 'digest',
    name: 'Newsletter digest',
    description: 'A monthly roundup: an introduction, three stories side by side, links to read more.',
    content: doc({ accent: '#0f766e' }, [
      { id: 'masthead', type: 'heading', text: 'The Monthly', level: 1, align: 'left' },
      {
        id: 'intro',
        type: 'text',
        markdown: 'Hello {{contact.first_name | "friend"}}, here is what happened this month — the short version.',
      },
      { id: 'rule-1', type: 'divider', color: '#e5e7eb' },
      {
        id: 'stories',
        type: 'columns',
        columns: [
          [
            { id: 's1-title', type: 'heading', text: 'Story one', level: 3 },
            {
              id: 's1-text',
              type: 'text',
              markdown: 'A short summary of the first story. [Read more](https://example.com/1)',
            },
          ],
          [
            { id: 's2-title', type: 'heading', text: 'Story two', level: 3 },
            {
              id: 's2-text',
              type: 'text',
              markdown: 'A short summary of the second story. [Read more](https://example.com/2)',
            },
          ],
          [
            { id: 's3-title', type: 'heading', text: 'Story three', level: 3 },
            {
              id: 's3-text',
              type: 'text',
              markdown: 'A short summary of the third story. [Read more](https://example.com/3)',
            },
          ],
        ],
      },
      { id: 'rule-2', type: 'divider', color: '#e5e7eb' },
      {
        id: 'social',
        type: 'social',
        links: [
          { network: 'linkedin', url: 'https://www.linkedin.com/' },
          { network: 'x', url: 'https://x.com/' },
          { network: 'web', url: 'https://example.com/' },
        ],
      },
      footer('You receive this monthly digest because you subscribed to it.'),
    ]),
  },
  {
    id: 'event',
    name: 'Event invitation',
    description: 'Invite people to an event: when and where side by side, and a button to save a seat.',
    content: doc({ accent: '#b45309', background: '#fef3c7' }, [
      { id: 'title', type: 'heading', text: 'You are invited', level: 1, align: 'center' },
      {
        id: 'body',
        type: 'text',
        align: 'center',
        markdown: 'Dear {{contact.first_name | "guest"}}, join us for an evening of talks, demos and good company.',
      },
      {
        id: 'details',
        type: 'columns',
        columns: [
          [
            { id: 'when-title', type: 'heading', text: 'When', level: 3, align: 'center' },
            { id: 'when', type: 'text', align: 'center', markdown: 'Thursday, 6:30 pm' },
          ],
          [
            { id: 'where-title', type: 'heading', text: 'Where', level: 3, align: 'center' },
            { id: 'where', type: 'text', align: 'center', markdown: 'Our office, Street 1' },
          ],
        ],
      },
      { id: 'cta', type: 'button', label: 'Save my seat', href: 'https://example.com/rsvp', color: '#b45309' },
      footer('You receive this invitation because you are on our events list.'),
    ]),
  },
  {
    id: 'letter',
    name: 'Plain letter',
    description: 'Just words, like a personal email: no images, no buttons.',
    content: doc({ background: '#ffffff', font: 'serif' }, [
      {
        id: 'body',
        type: 'text',
        markdown:
          'Hi {{contact.first_name | "there"}},\n\nWrite to your readers as you would to a friend.\n\nThanks for reading,\n\n{{user.name | "The team"}}',
      },
      footer(''),
    ]),
  },
];

export const starterTemplate = (id: string): NewsletterTemplate | undefined =>
  STARTER_TEMPLATES.find((t) => t.id === id);

/** A new campaign's content when nothing is chosen: an empty page with its footer. */
export const BLANK_DOCUMENT: BlockDocument = doc({}, [
  { id: 'body', type: 'text', markdown: 'Hi {{contact.first_name | "there"}},' },
  footer(''),
]);
