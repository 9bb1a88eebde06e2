import { describeContactPolicy } from './support/contact-policy.ts';

describeContactPolicy('mask');
