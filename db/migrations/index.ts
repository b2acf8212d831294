import { Migration20261209120000_message_bulks } from './Migration20261209120000_message_bulks.ts';
import { Migration20261209120100_messaging_bots } from './Migration20261209120100_messaging_bots.ts';
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261125000000_foundation } from './Migration20261125000000_foundation.ts';
import { Migration20261125000100_session_lookup } from './Migration20261125000100_session_lookup.ts';
import { Migration20261125010000_crm_core } from './Migration20261125010000_crm_core.ts';
import { Migration20261125020000_search } from './Migration20261125020000_search.ts';
import { Migration20261125030000_imports } from './Migration20261125030000_imports.ts';
import { Migration20261125040000_timeline_function } from './Migration20261125040000_timeline_function.ts';
import { Migration20261125050000_search_function } from './Migration20261125050000_search_function.ts';
import { Migration20261125060000_user_locale } from './Migration20261125060000_user_locale.ts';
import { Migration20261210010000_session_pictures } from './Migration20261210010000_session_pictures.ts';
import { Migration20261211010000_timeline_cursor_plans } from './Migration20261211010000_timeline_cursor_plans.ts';
import { Migration20261211031200_search_bounded } from './Migration20261211031200_search_bounded.ts';
import { Migration20261212010000_contacts_lower_email } from './Migration20261212010000_contacts_lower_email.ts';
import { Migration20261213010000_subject_thread_index } from './Migration20261213010000_subject_thread_index.ts';
import { Migration20261213020000_contacts_email_index } from './Migration20261213020000_contacts_email_index.ts';
import { Migration20261214010000_companies_type_status_index } from './Migration20261214010000_companies_type_status_index.ts';
import { Migration20261214020000_timeline_record_check_plans } from './Migration20261214020000_timeline_record_check_plans.ts';
import { Migration20261214030000_companies_time_sort_indexes } from './Migration20261214030000_companies_time_sort_indexes.ts';
import { Migration20261214040000_contacts_deals_list_indexes } from './Migration20261214040000_contacts_deals_list_indexes.ts';
import { Migration20261125070000_saved_views } from './Migration20261125070000_saved_views.ts';
import { Migration20261125080000_inbound_mail } from './Migration20261125080000_inbound_mail.ts';
import { Migration20261125090000_meetings } from './Migration20261125090000_meetings.ts';
import { Migration20261130100000_inbox_workflow } from './Migration20261130100000_inbox_workflow.ts';
import { Migration20261130110000_outbound } from './Migration20261130110000_outbound.ts';
import { Migration20261130120000_auto_reply_rules } from './Migration20261130120000_auto_reply_rules.ts';
import { Migration20261130130000_tracking } from './Migration20261130130000_tracking.ts';
import { Migration20261205050000_sending_domains } from './Migration20261205050000_sending_domains.ts';
import { Migration20261205030000_mailbox_visibility } from './Migration20261205030000_mailbox_visibility.ts';
import { Migration20261205070000_inbound_correctness } from './Migration20261205070000_inbound_correctness.ts';
import { Migration20261205100000_pending_signups } from './Migration20261205100000_pending_signups.ts';
import { Migration20261205130000_note_version } from './Migration20261205130000_note_version.ts';
import { Migration20261205150000_notification_data } from './Migration20261205150000_notification_data.ts';
import { Migration20261205120000_conversation_channel } from './Migration20261205120000_conversation_channel.ts';
import { Migration20261205120100_messages } from './Migration20261205120100_messages.ts';
import { Migration20261205200000_email_accounts } from './Migration20261205200000_email_accounts.ts';
import { Migration20261205233000_inbox_search } from './Migration20261205233000_inbox_search.ts';
import { Migration20261205236000_private_mailboxes } from './Migration20261205236000_private_mailboxes.ts';
import { Migration20261205230000_account_mail } from './Migration20261205230000_account_mail.ts';
import { Migration20261205210000_account_oauth_states } from './Migration20261205210000_account_oauth_states.ts';
import { Migration20261205234000_account_send } from './Migration20261205234000_account_send.ts';
import { Migration20261205239000_account_error_side } from './Migration20261205239000_account_error_side.ts';
import { Migration20261206000000_newsletters } from './Migration20261206000000_newsletters.ts';
import { Migration20261206050000_public_pages } from './Migration20261206050000_public_pages.ts';
import { Migration20261206030000_bulk_feedback } from './Migration20261206030000_bulk_feedback.ts';
import { Migration20261206040000_subscriber_imports } from './Migration20261206040000_subscriber_imports.ts';
import { Migration20261206060000_campaigns_due } from './Migration20261206060000_campaigns_due.ts';
import { Migration20261206010000_consent_notes } from './Migration20261206010000_consent_notes.ts';
import { Migration20261206040100_subscriber_count_per_statement } from './Migration20261206040100_subscriber_count_per_statement.ts';
import { Migration20261206070000_bulk_tracking } from './Migration20261206070000_bulk_tracking.ts';
import { Migration20261207030000_password_resets } from './Migration20261207030000_password_resets.ts';
import { Migration20261207080000_search_typos } from './Migration20261207080000_search_typos.ts';
import { Migration20261207050000_pipeline_stages } from './Migration20261207050000_pipeline_stages.ts';
import { Migration20261207000000_tasks_and_settings } from './Migration20261207000000_tasks_and_settings.ts';
import { Migration20261207040000_notify_due } from './Migration20261207040000_notify_due.ts';
import { Migration20261207010000_task_reminders } from './Migration20261207010000_task_reminders.ts';
import { Migration20261207060000_import_mapping } from './Migration20261207060000_import_mapping.ts';
import { Migration20261207070000_meeting_attendee_connected } from './Migration20261207070000_meeting_attendee_connected.ts';
import { Migration20261208000000_sequences } from './Migration20261208000000_sequences.ts';
import { Migration20261208030000_sequence_reputation } from './Migration20261208030000_sequence_reputation.ts';
import { Migration20261208030100_warmup_judged_from } from './Migration20261208030100_warmup_judged_from.ts';
import { Migration20261208090000_json_defaults } from './Migration20261208090000_json_defaults.ts';
import { Migration20261208010000_sequence_engine } from './Migration20261208010000_sequence_engine.ts';
import { Migration20261208010100_sequence_repairs } from './Migration20261208010100_sequence_repairs.ts';
import { Migration20261208120000_audit } from './Migration20261208120000_audit.ts';
import { Migration20261209030000_event_feed } from './Migration20261209030000_event_feed.ts';
import { Migration20261209040000_workflows } from './Migration20261209040000_workflows.ts';
import { Migration20261209030100_webhooks } from './Migration20261209030100_webhooks.ts';
import { Migration20261208090100_workspace_count } from './Migration20261208090100_workspace_count.ts';
import { Migration20261209020000_api_token_grants } from './Migration20261209020000_api_token_grants.ts';
import { Migration20261209100000_messaging } from './Migration20261209100000_messaging.ts';
import { Migration20261209010000_linked_records } from './Migration20261209010000_linked_records.ts';

/** Every migration, oldest first. Add new ones at the end; never edit one that has shipped. */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261125000000_foundation', class: Migration20261125000000_foundation },
  { name: 'Migration20261125000100_session_lookup', class: Migration20261125000100_session_lookup },
  { name: 'Migration20261125010000_crm_core', class: Migration20261125010000_crm_core },
  { name: 'Migration20261125020000_search', class: Migration20261125020000_search },
  { name: 'Migration20261125030000_imports', class: Migration20261125030000_imports },
  { name: 'Migration20261125040000_timeline_function', class: Migration20261125040000_timeline_function },
  { name: 'Migration20261125050000_search_function', class: Migration20261125050000_search_function },
  { name: 'Migration20261125060000_user_locale', class: Migration20261125060000_user_locale },
  { name: 'Migration20261125070000_saved_views', class: Migration20261125070000_saved_views },
  { name: 'Migration20261125080000_inbound_mail', class: Migration20261125080000_inbound_mail },
  { name: 'Migration20261125090000_meetings', class: Migration20261125090000_meetings },
  { name: 'Migration20261130100000_inbox_workflow', class: Migration20261130100000_inbox_workflow },
  { name: 'Migration20261130110000_outbound', class: Migration20261130110000_outbound },
  { name: 'Migration20261130120000_auto_reply_rules', class: Migration20261130120000_auto_reply_rules },
  { name: 'Migration20261130130000_tracking', class: Migration20261130130000_tracking },
  { name: 'Migration20261205050000_sending_domains', class: Migration20261205050000_sending_domains },
  { name: 'Migration20261205030000_mailbox_visibility', class: Migration20261205030000_mailbox_visibility },
  { name: 'Migration20261205070000_inbound_correctness', class: Migration20261205070000_inbound_correctness },
  { name: 'Migration20261205100000_pending_signups', class: Migration20261205100000_pending_signups },
  { name: 'Migration20261205130000_note_version', class: Migration20261205130000_note_version },
  { name: 'Migration20261205150000_notification_data', class: Migration20261205150000_notification_data },
  { name: 'Migration20261205120000_conversation_channel', class: Migration20261205120000_conversation_channel },
  { name: 'Migration20261205120100_messages', class: Migration20261205120100_messages },
  { name: 'Migration20261205200000_email_accounts', class: Migration20261205200000_email_accounts },
  { name: 'Migration20261205233000_inbox_search', class: Migration20261205233000_inbox_search },
  { name: 'Migration20261205230000_account_mail', class: Migration20261205230000_account_mail },
  { name: 'Migration20261205210000_account_oauth_states', class: Migration20261205210000_account_oauth_states },
  { name: 'Migration20261205234000_account_send', class: Migration20261205234000_account_send },
  { name: 'Migration20261205236000_private_mailboxes', class: Migration20261205236000_private_mailboxes },
  { name: 'Migration20261205239000_account_error_side', class: Migration20261205239000_account_error_side },
  { name: 'Migration20261206000000_newsletters', class: Migration20261206000000_newsletters },
  { name: 'Migration20261206050000_public_pages', class: Migration20261206050000_public_pages },
  { name: 'Migration20261206030000_bulk_feedback', class: Migration20261206030000_bulk_feedback },
  { name: 'Migration20261206040000_subscriber_imports', class: Migration20261206040000_subscriber_imports },
  { name: 'Migration20261206060000_campaigns_due', class: Migration20261206060000_campaigns_due },
  { name: 'Migration20261206010000_consent_notes', class: Migration20261206010000_consent_notes },
  {
    name: 'Migration20261206040100_subscriber_count_per_statement',
    class: Migration20261206040100_subscriber_count_per_statement,
  },
  { name: 'Migration20261206070000_bulk_tracking', class: Migration20261206070000_bulk_tracking },
  { name: 'Migration20261207000000_tasks_and_settings', class: Migration20261207000000_tasks_and_settings },
  { name: 'Migration20261207030000_password_resets', class: Migration20261207030000_password_resets },
  { name: 'Migration20261207040000_notify_due', class: Migration20261207040000_notify_due },
  { name: 'Migration20261207010000_task_reminders', class: Migration20261207010000_task_reminders },
  { name: 'Migration20261207080000_search_typos', class: Migration20261207080000_search_typos },
  { name: 'Migration20261207060000_import_mapping', class: Migration20261207060000_import_mapping },
  { name: 'Migration20261207050000_pipeline_stages', class: Migration20261207050000_pipeline_stages },
  {
    name: 'Migration20261207070000_meeting_attendee_connected',
    class: Migration20261207070000_meeting_attendee_connected,
  },
  { name: 'Migration20261208000000_sequences', class: Migration20261208000000_sequences },
  { name: 'Migration20261208030000_sequence_reputation', class: Migration20261208030000_sequence_reputation },
  { name: 'Migration20261208090000_json_defaults', class: Migration20261208090000_json_defaults },
  { name: 'Migration20261208010000_sequence_engine', class: Migration20261208010000_sequence_engine },
  { name: 'Migration20261208010100_sequence_repairs', class: Migration20261208010100_sequence_repairs },
  { name: 'Migration20261208030100_warmup_judged_from', class: Migration20261208030100_warmup_judged_from },
  { name: 'Migration20261208120000_audit', class: Migration20261208120000_audit },
  { name: 'Migration20261208090100_workspace_count', class: Migration20261208090100_workspace_count },
  { name: 'Migration20261209030000_event_feed', class: Migration20261209030000_event_feed },
  { name: 'Migration20261209020000_api_token_grants', class: Migration20261209020000_api_token_grants },
  { name: 'Migration20261209100000_messaging', class: Migration20261209100000_messaging },
  { name: 'Migration20261209040000_workflows', class: Migration20261209040000_workflows },
  { name: 'Migration20261209030100_webhooks', class: Migration20261209030100_webhooks },
  { name: 'Migration20261209120000_message_bulks', class: Migration20261209120000_message_bulks },
  { name: 'Migration20261209120100_messaging_bots', class: Migration20261209120100_messaging_bots },
  { name: 'Migration20261209010000_linked_records', class: Migration20261209010000_linked_records },
  { name: 'Migration20261210010000_session_pictures', class: Migration20261210010000_session_pictures },
  { name: 'Migration20261211010000_timeline_cursor_plans', class: Migration20261211010000_timeline_cursor_plans },
  { name: 'Migration20261211031200_search_bounded', class: Migration20261211031200_search_bounded },
  { name: 'Migration20261212010000_contacts_lower_email', class: Migration20261212010000_contacts_lower_email },
  { name: 'Migration20261213010000_subject_thread_index', class: Migration20261213010000_subject_thread_index },
  { name: 'Migration20261213020000_contacts_email_index', class: Migration20261213020000_contacts_email_index },
  {
    name: 'Migration20261214010000_companies_type_status_index',
    class: Migration20261214010000_companies_type_status_index,
  },
  {
    name: 'Migration20261214020000_timeline_record_check_plans',
    class: Migration20261214020000_timeline_record_check_plans,
  },
  {
    name: 'Migration20261214030000_companies_time_sort_indexes',
    class: Migration20261214030000_companies_time_sort_indexes,
  },
  {
    name: 'Migration20261214040000_contacts_deals_list_indexes',
    class: Migration20261214040000_contacts_deals_list_indexes,
  },
];
