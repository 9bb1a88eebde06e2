import { describe, expect, it } from 'vitest';
import { getCountries } from 'libphonenumber-js/max';
import { loadSettings, SettingsError } from '#config/settings';
import { PHONE_COUNTRIES } from '#core/contact-info-policy';

describe('settings', () => {
  it('applies the documented defaults to an empty environment', () => {
    const settings = loadSettings({});
    expect(settings).toMatchObject({
      CHAT_MESSAGE_LIMIT: 100,
      CHAT_TYPING_TIMEOUT: 3000,
      CHAT_MAX_CONNECTIONS_PER_USER: 3,
      CONNECTIONS_TABLE: 'chat-connections',
      AUTH_CLAIM_USER_ID: 'userId',
    });
  });

  it('reads numbers from strings, as environment variables arrive', () => {
    const settings = loadSettings({ CHAT_MESSAGE_LIMIT: '50', CHAT_TYPING_TIMEOUT: '1500', AUTH_CLAIM_USER_ID: 'custom:userId' });
    expect(settings.CHAT_MESSAGE_LIMIT).toBe(50);
    expect(settings.CHAT_TYPING_TIMEOUT).toBe(1500);
    expect(settings.AUTH_CLAIM_USER_ID).toBe('custom:userId');
  });

  it('treats an empty variable as unset', () => {
    expect(loadSettings({ CHAT_MESSAGE_LIMIT: '' }).CHAT_MESSAGE_LIMIT).toBe(100);
  });

  it('fails fast, naming every bad variable', () => {
    let error: unknown;
    try {
      loadSettings({ CHAT_MESSAGE_LIMIT: 'lots', CHAT_MAX_CONNECTIONS_PER_USER: '0', DYNAMODB_ENDPOINT: 'not a url' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const settingsError = error as SettingsError;
    expect(settingsError.issues.map((issue) => issue.variable).sort()).toEqual([
      'CHAT_MAX_CONNECTIONS_PER_USER',
      'CHAT_MESSAGE_LIMIT',
      'DYNAMODB_ENDPOINT',
    ]);
    expect(settingsError.message).toMatch(/CHAT_MESSAGE_LIMIT/);
  });

  it('reads the service scope, one scope without spaces, unset by default', () => {
    expect(loadSettings({}).AUTH_SERVICE_SCOPE).toBeUndefined();
    expect(loadSettings({ AUTH_SERVICE_SCOPE: 'chat/service' }).AUTH_SERVICE_SCOPE).toBe('chat/service');
    expect(() => loadSettings({ AUTH_SERVICE_SCOPE: 'chat/service chat/admin' })).toThrow(/AUTH_SERVICE_SCOPE/);
  });

  it('refuses a database URL that is not Postgres', () => {
    expect(() => loadSettings({ DATABASE_URL: 'mysql://localhost/chat' })).toThrow(/DATABASE_URL/);
  });

  it('reads phone numbers in any country with a numbering plan, and refuses one without', () => {
    expect(loadSettings({ CHAT_PHONE_DEFAULT_COUNTRY: 'us' }).CHAT_PHONE_DEFAULT_COUNTRY).toBe('US');
    expect(loadSettings({}).CHAT_PHONE_DEFAULT_COUNTRY).toBe('DE');
    expect(() => loadSettings({ CHAT_PHONE_DEFAULT_COUNTRY: 'XX' })).toThrow(/CHAT_PHONE_DEFAULT_COUNTRY/);
    expect(() => loadSettings({ CHAT_PHONE_DEFAULT_COUNTRY: 'Germany' })).toThrow(/CHAT_PHONE_DEFAULT_COUNTRY/);
  });

  it('knows the same countries as the phone number detector (libphonenumber-js)', () => {
    expect([...PHONE_COUNTRIES].sort()).toEqual([...getCountries()].sort());
  });
});
